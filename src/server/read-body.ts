import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { HookError } from '../core/hook-error.js';

/**
 * A body arriving in many small pieces costs a 'data' event each, whatever the bytes: past
 * `piecesBeforeCheck` pieces, the average piece must be at least `minAveragePieceBytes`.
 * Real senders write kilobytes at a time (a TCP segment is ~1.4 KB); 1-byte HTTP chunks are
 * an attack on the event loop.
 */
const piecesBeforeCheck = 256;
const minAveragePieceBytes = 512;
/** A body of unknown length starts with room for this much once a second piece arrives. */
const initialCapacity = 16 * 1024;

const empty = Buffer.alloc(0);

/**
 * Reads a request body into one buffer, bounded: the declared `Content-Length` is checked before
 * anything is read, and the bytes as they arrive; the buffer is sized by `Content-Length` or grows
 * geometrically, so memory is the body's size however it is cut. A body in one piece (the usual
 * case) is kept as node delivered it, without a copy.
 *
 * Calls `done` once: with the bytes, or with a `payload_too_large` error as soon as the body is
 * known to be too large (the caller answers and discards the rest).
 */
export function readBody(request: Readable & { headers?: IncomingHttpHeaders }, limit: number, done: (body: Buffer | HookError) => void): void {
  const declared = declaredLength(request.headers?.['content-length']);
  if (declared !== undefined && declared > limit) {
    done(new HookError('payload_too_large', `body exceeds ${limit} bytes`));
    return;
  }
  let first: Buffer | undefined;
  let collected: Buffer | undefined;
  let size = 0;
  let pieces = 0;
  let finished = false;

  const onData = (chunk: Buffer) => {
    pieces += 1;
    if (size + chunk.length > limit) return refuse(`body exceeds ${limit} bytes`);
    if (pieces > piecesBeforeCheck && size < pieces * minAveragePieceBytes) {
      return refuse(`body arrived in more than ${piecesBeforeCheck} pieces averaging under ${minAveragePieceBytes} bytes`);
    }
    if (first === undefined) {
      first = chunk;
    } else {
      if (collected === undefined) {
        collected = Buffer.allocUnsafe(Math.min(limit, declared ?? Math.max(initialCapacity, 2 * (size + chunk.length))));
        first.copy(collected, 0);
      } else if (size + chunk.length > collected.length) {
        const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(2 * collected.length, size + chunk.length)));
        collected.copy(grown, 0, 0, size);
        collected = grown;
      }
      chunk.copy(collected, size);
    }
    size += chunk.length;
  };

  function refuse(reason: string): void {
    if (finished) return;
    finished = true;
    request.off('data', onData);
    first = collected = undefined;
    done(new HookError('payload_too_large', reason));
  }

  request.on('data', onData);
  // No 'error' listener on purpose: node emits an aborted request's error only when one is
  // attached, and an aborted request needs no answer ('end' never comes; the socket is gone).
  request.on('end', () => {
    if (finished) return;
    finished = true;
    done(collected !== undefined ? collected.subarray(0, size) : (first ?? empty));
  });
}

/** `Content-Length` as a number; undefined when absent (node rejects malformed values itself). */
function declaredLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}
