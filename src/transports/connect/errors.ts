import { Code } from '@connectrpc/connect';
import type { HookError, HookErrorCode } from '../../core/hook-error.js';
import type { NeutralResponse } from '../../core/neutral.js';
import { isGrpcWeb } from './content-type.js';

/** The Connect code each error is answered with (Connect and gRPC-Web share the code set). */
export const hookErrorToConnectCode: Readonly<Record<HookErrorCode, Code>> = {
  not_found: Code.Unimplemented,
  method_not_allowed: Code.Unimplemented,
  unsupported_media_type: Code.Unimplemented,
  payload_too_large: Code.ResourceExhausted,
  invalid_signature: Code.Unauthenticated,
  unknown_api_key: Code.Unauthenticated,
  malformed_json: Code.InvalidArgument,
  malformed_protobuf: Code.InvalidArgument,
  invalid_payload: Code.InvalidArgument,
  decision_not_applied: Code.Unavailable,
  overloaded: Code.Unavailable,
  shutting_down: Code.Unavailable,
  internal: Code.Internal,
};

/** Connect protocol's HTTP status per code (connectrpc.com/docs/protocol#error-codes). */
export const connectCodeToHttpStatus: Readonly<Partial<Record<Code, number>>> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/** Connect's wire names for codes (`Code.ResourceExhausted` → `resource_exhausted`). */
export function connectCodeName(code: Code): string {
  return Code[code].replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}

/**
 * A HookError as a Connect unary error: `{code, message}` JSON with the code's HTTP status,
 * byte for byte what connect-es writes for the same ConnectError.
 */
export function encodeConnectError(error: HookError): NeutralResponse {
  const code = hookErrorToConnectCode[error.code];
  return {
    status: connectCodeToHttpStatus[code] ?? 500,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: connectCodeName(code), message: error.message }),
  };
}

/**
 * A HookError in the caller's protocol, without handing unverified bytes to a decoder: a
 * trailers-only answer for gRPC-Web (HTTP 200, the status in headers), else a Connect unary
 * error ({@link encodeConnectError}).
 */
export function errorResponse(contentType: string, error: HookError): NeutralResponse {
  if (!isGrpcWeb(contentType)) return encodeConnectError(error);
  const code = hookErrorToConnectCode[error.code];
  return { status: 200, headers: { 'content-type': contentType, 'grpc-status': String(code), 'grpc-message': encodeURIComponent(error.message) }, body: '' };
}
