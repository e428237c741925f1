import type { HookError } from '../../core/hook-error.js';
import type { NeutralResponse } from '../../core/neutral.js';
import { connectCodeName, connectCodeToHttpStatus, hookErrorToConnectCode } from './error-code.js';

/**
 * A HookError in the caller's protocol, without handing unverified bytes to a decoder: a
 * trailers-only answer for gRPC-Web, else a Connect unary error (`{code, message}` JSON with
 * the code's HTTP status), byte for byte what connect-es writes for the same ConnectError.
 */
export function errorResponse(contentType: string, error: HookError): NeutralResponse {
  const code = hookErrorToConnectCode[error.code];
  if (contentType.startsWith('application/grpc-web')) {
    // A trailers-only gRPC-Web answer: HTTP 200, the status in headers.
    return { status: 200, headers: { 'content-type': contentType, 'grpc-status': String(code), 'grpc-message': encodeURIComponent(error.message) }, body: '' };
  }
  return {
    status: connectCodeToHttpStatus[code] ?? 500,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: connectCodeName(code), message: error.message }),
  };
}
