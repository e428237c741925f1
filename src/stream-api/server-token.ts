import { SignJWT } from 'jose';

/**
 * Stream's server-side token: an HS256 JWT over exactly `{"server": true}` (no `iat`, no `exp`),
 * signed with the app's API secret — what the official SDKs send in `Authorization` with
 * `Stream-Auth-Type: jwt`. It never expires, so one token per app is signed once and reused.
 */
export async function signServerToken(secret: string): Promise<string> {
  if (secret === '') throw new TypeError('signServerToken: the API secret is empty');
  return new SignJWT({ server: true })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(new TextEncoder().encode(secret));
}

// Keyed by secret: one signature per app for the life of the process. The number of apps a
// server answers for is small, so the map stays small.
const cache = new Map<string, Promise<string>>();

/**
 * The server token for `secret`, signed on first use and cached for the process.
 * A failed signature is not cached.
 */
export function serverToken(secret: string): Promise<string> {
  let token = cache.get(secret);
  if (token === undefined) {
    token = signServerToken(secret);
    cache.set(secret, token);
    token.catch(() => cache.delete(secret));
  }
  return token;
}
