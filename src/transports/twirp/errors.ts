import type { HookErrorCode } from '../../core/hook-error.js';

/**
 * Twirp's error codes and the HTTP status each one is sent with
 * (https://twitchtv.github.io/twirp/docs/spec_v7.html#error-codes). Exported whole so tests
 * can check the table against the spec.
 */
export const twirpCodeToHttpStatus = {
  canceled: 408,
  unknown: 500,
  invalid_argument: 400,
  malformed: 400,
  deadline_exceeded: 408,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  failed_precondition: 412,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  dataloss: 500,
} as const satisfies Record<string, number>;

export type TwirpCode = keyof typeof twirpCodeToHttpStatus;

/**
 * Our closed error codes as Twirp codes. Twirp has no "payload too large" or
 * "unsupported media type": a too-large body is an `invalid_argument`; a wrong method, path
 * or content type is a `bad_route` (the spec's rule for requests that match no route).
 */
export const hookErrorToTwirpCode = {
  not_found: 'bad_route',
  method_not_allowed: 'bad_route',
  unsupported_media_type: 'bad_route',
  payload_too_large: 'invalid_argument',
  invalid_signature: 'unauthenticated',
  unknown_api_key: 'unauthenticated',
  malformed_json: 'malformed',
  malformed_protobuf: 'malformed',
  invalid_payload: 'invalid_argument',
  // 503 makes Stream retry; the retry re-applies the remembered decision.
  decision_not_applied: 'unavailable',
  // Shed or closing: answered before the body is decoded, so Stream's retry finds another moment or instance.
  overloaded: 'unavailable',
  shutting_down: 'unavailable',
  internal: 'internal',
} as const satisfies Record<HookErrorCode, TwirpCode>;

/** The Twirp code and HTTP status a HookError code is answered with. */
export function twirpErrorFor(code: HookErrorCode): { code: TwirpCode; status: number } {
  const twirpCode: TwirpCode = hookErrorToTwirpCode[code];
  return { code: twirpCode, status: twirpCodeToHttpStatus[twirpCode] };
}
