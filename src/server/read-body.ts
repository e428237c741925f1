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
  (request as BodyStream)[bodyState] = { limit, declared, done, first: undefined, collected: undefined, size: 0, pieces: 0, finished: false };
  // Listeners are module-level functions reading their state off the stream: no closure is
  // made per request (this is on every callback's path).
  request.on('data', onBodyData);
  // No 'error' listener on purpose: node emits an aborted request's error only when one is
  // attached, and an aborted request needs no answer ('end' never comes; the socket is gone).
  request.on('end', onBodyEnd);
}

const bodyState = Symbol('pending-hooks.bodyState');

interface BodyState {
  limit: number;
  declared: number | undefined;
  done: (body: Buffer | HookError) => void;
  first: Buffer | undefined;
  collected: Buffer | undefined;
  size: number;
  pieces: number;
  finished: boolean;
}

type BodyStream = Readable & { [bodyState]: BodyState };

function onBodyData(this: BodyStream, chunk: Buffer): void {
  const state = this[bodyState];
  const { limit, size } = state;
  state.pieces += 1;
  if (size + chunk.length > limit) return refuse(this, state, `body exceeds ${limit} bytes`);
  if (state.pieces > piecesBeforeCheck && size < state.pieces * minAveragePieceBytes) {
    return refuse(this, state, `body arrived in more than ${piecesBeforeCheck} pieces averaging under ${minAveragePieceBytes} bytes`);
  }
  if (state.first === undefined) {
    state.first = chunk;
  } else {
    let collected = state.collected;
    if (collected === undefined) {
      collected = Buffer.allocUnsafe(Math.min(limit, Math.max(state.declared ?? 0, initialCapacity, 2 * (size + chunk.length))));
      state.first.copy(collected, 0);
    } else if (size + chunk.length > collected.length) {
      const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(2 * collected.length, size + chunk.length)));
      collected.copy(grown, 0, 0, size);
      collected = grown;
    }
    chunk.copy(collected, size);
    state.collected = collected;
  }
  state.size = size + chunk.length;
}

function onBodyEnd(this: BodyStream): void {
  const state = this[bodyState];
  if (state.finished) return;
  state.finished = true;
  state.done(state.collected !== undefined ? state.collected.subarray(0, state.size) : (state.first ?? empty));
}

function refuse(stream: BodyStream, state: BodyState, reason: string): void {
  if (state.finished) return;
  state.finished = true;
  stream.off('data', onBodyData);
  state.first = state.collected = undefined;
  state.done(new HookError('payload_too_large', reason));
}

/** `Content-Length` as a number; undefined when absent (node rejects malformed values itself). */
function declaredLength(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const length = Number(header);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
}
