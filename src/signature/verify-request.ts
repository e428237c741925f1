import { asBuffer } from '../core/as-buffer.js';
import { HookError } from '../core/hook-error.js';
import type { ResolvedApp } from './app-keyring.js';
import { hmacDigest, matchesAnyKey, parseSignatureHeader } from './sign.js';

const refused = 'unauthenticated';

/**
 * Checks `X-Signature` over the uncompressed body bytes, before anything is parsed.
 * On failure the returned error's `detail` says why in words a user can act on; the caller
 * logs it and answers a bare 401, so the response reveals nothing.
 */
export function verifyRequestSignature(
  app: ResolvedApp,
  body: Uint8Array,
  rawBody: Uint8Array,
  signatureHeader: string | undefined,
): HookError | undefined {
  if (signatureHeader === undefined || signatureHeader === '') {
    return new HookError('invalid_signature', refused, 'X-Signature header missing: Stream signs every callback; is this request from Stream?');
  }
  const expected = parseSignatureHeader(signatureHeader);
  if (expected === undefined) {
    return new HookError('invalid_signature', refused, 'X-Signature is not 64 hex digits (HMAC-SHA256 in hex)');
  }
  if (matchesAnyKey(app.keys, body, expected)) return undefined;
  return new HookError('invalid_signature', refused, explainMismatch(app, body, rawBody, expected));
}

/** Only runs on the failure path: tries the usual mistakes so the log can name the cause. */
function explainMismatch(app: ResolvedApp, body: Uint8Array, rawBody: Uint8Array, expected: Buffer): string {
  if (rawBody !== body && matchesAnyKey(app.keys, rawBody, expected)) {
    return 'signature was computed over the gzip-compressed bytes; Stream signs the uncompressed body';
  }
  if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) {
    return 'body is still compressed after inflating once (double gzip?); no secret matched';
  }
  const reserialized = reserializeJson(body);
  if (reserialized !== undefined && app.keys.some((key) => hmacDigest(key, reserialized).equals(expected))) {
    return 'signature matches the body re-serialized as JSON, not the bytes received: something between Stream and this server re-encoded the body; verify over the raw bytes';
  }
  return `no configured secret matched (${app.keys.length} tried for app ${app.apiKey}): check the API secret, or add the old one during a rotation`;
}

function reserializeJson(body: Uint8Array): string | undefined {
  try {
    const text = asBuffer(body).toString('utf8');
    const again = JSON.stringify(JSON.parse(text));
    return again === text ? undefined : again;
  } catch {
    return undefined;
  }
}
