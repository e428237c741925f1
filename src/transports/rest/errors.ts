import type { HookErrorCode } from '../../core/hook-error.js';

/** The REST contract's HTTP status for each error code. */
export const restErrorStatus: Readonly<Record<HookErrorCode, number>> = {
  not_found: 404,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  payload_too_large: 413,
  invalid_signature: 401,
  unknown_api_key: 401,
  malformed_json: 400,
  malformed_protobuf: 400,
  invalid_payload: 400,
  decision_not_applied: 503,
  overloaded: 503,
  shutting_down: 503,
  internal: 500,
};
