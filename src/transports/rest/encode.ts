import type { HookError } from '../../core/hook-error.js';
import type { NeutralResponse } from '../../core/neutral.js';
import { createPassOnAnswers } from '../pass-on-answers.js';
import { restErrorStatus } from './errors.js';

const jsonHeaders: Readonly<Record<string, string>> = Object.freeze({ 'content-type': 'application/json; charset=utf-8' });

function json(status: number, body: string): NeutralResponse {
  return { status, headers: jsonHeaders as Record<string, string>, body };
}

/** PassOn answer: `{"action", "reason"?, "timed_out"}`; `reason` omitted when empty. */
export const encodeRestPassOn = createPassOnAnswers((outcome) =>
  json(
    200,
    outcome.reason
      ? `{"action":"${outcome.action}","reason":${JSON.stringify(outcome.reason)},"timed_out":${outcome.timedOut}}`
      : `{"action":"${outcome.action}","timed_out":${outcome.timedOut}}`,
  ),
);

const acceptedAnswer = json(200, '{"accepted":true}');
const deletedAnswer = json(200, '{"ok":true}');

export const encodeRestAccepted = (): NeutralResponse => acceptedAnswer;
export const encodeRestDeleted = (): NeutralResponse => deletedAnswer;

/** Error answer: `{"error": "<code>", "message": "<text>"}` with the contract's status. */
export function encodeRestError(error: HookError): NeutralResponse {
  const response = json(restErrorStatus[error.code], JSON.stringify({ error: error.code, message: error.message }));
  if (error.code === 'method_not_allowed') response.headers = { ...jsonHeaders, allow: 'POST' };
  else if (error.code === 'overloaded' || error.code === 'shutting_down') response.headers = { ...jsonHeaders, 'retry-after': '1' };
  return response;
}
