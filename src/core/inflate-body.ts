import { gunzip } from 'node:zlib';
import { HookError, type HookErrorCode } from './hook-error.js';

/** True when the body starts with gzip's magic bytes. */
export function looksGzipped(body: Uint8Array): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

/**
 * Inflates a gzip body (announced by `Content-Encoding: gzip` or recognised by its magic bytes)
 * without letting it grow past `limit` bytes: a small compressed body can hide a huge one.
 * Runs on libuv's thread pool, so a large body never blocks the event loop.
 */
export function inflateBody(
  raw: Uint8Array,
  gzipDeclared: boolean,
  limit: number,
  malformedCode: HookErrorCode,
): Uint8Array | Promise<Uint8Array | HookError> {
  if (!gzipDeclared && !looksGzipped(raw)) return raw;
  return new Promise((resolve) => {
    gunzip(raw, { maxOutputLength: limit }, (error, inflated) => {
      if (!error) return resolve(inflated);
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        resolve(new HookError('payload_too_large', `inflated body exceeds ${limit} bytes`));
      } else {
        resolve(new HookError(malformedCode, 'body is not valid gzip', error.message));
      }
    });
  });
}
