import { timingSafeEqual } from 'node:crypto';
import { asBuffer } from '../core/as-buffer.js';
import { HookError } from '../core/hook-error.js';
import type { ResolvedApp } from './app-keyring.js';
import { hmacDigest, matchesAnyKey, parseSignatureHeader } from './sign.js';

const refused = 'unauthenticated';

/** At most one detailed explanation of a mismatch per app and interval. */
const explainEveryMs = 1000;
/** Bodies longer than this are not re-serialized to explain a mismatch. */
const explainMaxBytes = 16 * 1024;
const lastExplained = new WeakMap<ResolvedApp, number>();

/**
 * Checks `X-Signature` over the uncompressed body bytes, before anything is parsed.
 * On failure the returned error's `detail` says why in words a user can act on; the caller
 * logs it and answers a bare 401, so the response reveals nothing.
 *
 * A failure costs no more than a success: one HMAC per configured secret and a constant-time
 * compare. Trying the usual mistakes (a signature over the compressed bytes, a re-serialized
 * body) costs more, so it is done at most once a second per app, on small bodies only; other
 * failures are logged with the plain reason.
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

function explainMismatch(app: ResolvedApp, body: Uint8Array, rawBody: Uint8Array, expected: Buffer): string {
  const plain = `no configured secret matched (${app.keys.length} tried for app ${app.apiKey}): check the API secret, or add the old one during a rotation`;
  if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) {
    return 'body is still compressed after inflating once (double gzip?); no secret matched';
  }
  const now = performance.now();
  const last = lastExplained.get(app);
  if (body.length > explainMaxBytes || (last !== undefined && now - last < explainEveryMs)) return plain;
  lastExplained.set(app, now);
  if (rawBody !== body && matchesAnyKey(app.keys, rawBody, expected)) {
    return 'signature was computed over the gzip-compressed bytes; Stream signs the uncompressed body';
  }
  const reserialized = reserializeJson(body);
  if (reserialized !== undefined && app.keys.some((key) => timingSafeEqual(hmacDigest(key, reserialized), expected))) {
    return 'signature matches the body re-serialized as JSON, not the bytes received: something between Stream and this server re-encoded the body; verify over the raw bytes';
  }
  return plain;
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
