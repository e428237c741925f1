import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * An HMAC key prepared once per secret: building the key object on every request costs more
 * than the HMAC of a small body itself.
 */
export type PreparedSecret = KeyObject;

export function prepareSecret(secret: string): PreparedSecret {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

/** HMAC-SHA256 digest of the body bytes. */
export function hmacDigest(key: PreparedSecret | string, body: Uint8Array | string): Buffer {
  return createHmac('sha256', key).update(body).digest();
}

/**
 * Signs a body the way Stream does: lowercase hex HMAC-SHA256 of the (uncompressed) body bytes,
 * keyed with the app's API secret. Use it to produce `X-Signature` in tests and tools.
 */
export function sign(secret: string, body: Uint8Array | string): string {
  return hmacDigest(secret, body).toString('hex');
}

const signaturePattern = /^[0-9a-fA-F]{64}$/;

/** Decodes an `X-Signature` header to its 32 digest bytes, or undefined when it is not 64 hex digits. */
export function parseSignatureHeader(header: string | undefined): Buffer | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  return signaturePattern.test(trimmed) ? Buffer.from(trimmed, 'hex') : undefined;
}

/** True when `expected` (decoded header bytes) equals the body's HMAC under one of the keys. */
export function matchesAnyKey(
  keys: readonly (PreparedSecret | string)[],
  body: Uint8Array,
  expected: Buffer,
): boolean {
  let matched = false;
  // Every key is tried even after a match so the time does not tell which secret matched.
  for (const key of keys) {
    if (timingSafeEqual(hmacDigest(key, body), expected)) matched = true;
  }
  return matched;
}

/**
 * Verifies a Stream webhook signature over the raw (uncompressed) body bytes, in constant time.
 * Several secrets may be given during a rotation; any match passes. Hex case does not matter.
 */
export function verify(
  secrets: string | readonly string[],
  body: Uint8Array | string,
  signature: string | undefined,
): boolean {
  const expected = parseSignatureHeader(signature);
  if (expected === undefined) return false;
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return matchesAnyKey(typeof secrets === 'string' ? [secrets] : secrets, bytes, expected);
}
