/**
 * The one error type of pending-hooks. Every failure a request can meet carries a code from a
 * closed set; each transport maps the code to its own wire form at the edge
 * (`rest/error-status.ts`, `twirp/error-code.ts`).
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
