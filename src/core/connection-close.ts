import type { HookErrorCode } from './hook-error.js';
import type { NeutralResponse } from './neutral.js';

/**
 * Refusals after which the connection is closed once the answer is written: a client that is
 * refused for who it is or what it asks for gets no kept-alive socket to try again on.
 */
const closingCodes: ReadonlySet<HookErrorCode> = new Set<HookErrorCode>([
  'invalid_signature',
  'unknown_api_key',
  'not_found',
  'method_not_allowed',
  'unsupported_media_type',
  'payload_too_large',
]);

/** Whether a refusal with this code closes the client's connection (see `closingCodes`). */
export function refusalClosesConnection(code: HookErrorCode): boolean {
  return closingCodes.has(code);
}

/** The same answer with `connection: close`: the adapter closes the connection after writing it. */
export function withConnectionClose(response: NeutralResponse): NeutralResponse {
  return { status: response.status, headers: { ...response.headers, connection: 'close' }, body: response.body };
}
