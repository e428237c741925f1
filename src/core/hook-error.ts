/**
 * The one error type of pending-hooks. Every failure a request can meet carries a code from a
 * closed set; each transport maps the code to its own wire form at the edge
 * (`rest/errors.ts`, `twirp/errors.ts`).
 */
export const hookErrorCodes = [
  'not_found',
  'method_not_allowed',
  'unsupported_media_type',
  'payload_too_large',
  'invalid_signature',
  'unknown_api_key',
  'malformed_json',
  'malformed_protobuf',
  'invalid_payload',
  'decision_not_applied',
  'overloaded',
  'shutting_down',
  'internal',
] as const;

export type HookErrorCode = (typeof hookErrorCodes)[number];

export class HookError extends Error {
  override readonly name = 'HookError';
  /**
   * @param code the closed code, mapped to a status by each transport
   * @param message text safe to send to the caller
   * @param detail text for the log only (never sent: it may help an attacker)
   */
  constructor(
    readonly code: HookErrorCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

const notApplied = new Map<string, HookError>();

/**
 * The answer's error for a decision Stream's API did not take in time: one shared instance per
 * action. When a hung API makes hundreds of callbacks fail at one deadline, an error (and its
 * stack) per answer is work done at the worst moment.
 */
export function decisionNotApplied(action: string): HookError {
  let error = notApplied.get(action);
  if (error === undefined) {
    error = new HookError('decision_not_applied', `the ${action} decision could not be applied through Stream's API in time; retry`);
    notApplied.set(action, error);
  }
  return error;
}
