import { createHmac } from 'node:crypto';

/** Independent of src/: how Stream signs a body (lowercase hex HMAC-SHA256 with the API secret). */
export function streamSignature(secret: string, body: Uint8Array | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
