import type { IncomingMessage } from 'node:http';

/** How long a refused client may keep sending before its connection is cut. */
export interface LingerBounds {
  /** Bytes read and discarded after the answer, at most. Default 4 MiB. */
  maxBytes: number;
  /** Milliseconds after the answer, at most. Default 2000. */
  maxMs: number;
  /**
   * Body pieces (`data` events) discarded, at most. Default 1024: a client still sending in
   * tiny HTTP chunks costs an event per chunk, whatever the bytes, and gets no more of our time.
   */
  maxPieces: number;
}

export const defaultLinger: LingerBounds = Object.freeze({ maxBytes: 4 * 1024 * 1024, maxMs: 2000, maxPieces: 1024 });

const destroySoon = Symbol('pending-hooks.destroySoon');

/**
 * Call before writing an answer that closes the connection (`connection: close`) while the
 * request may still be arriving. Node ends such a connection with `destroySoon()` once the
 * answer is written; a client still sending its body then gets a reset, and may lose the
 * answer it has not read yet (and a reset looks like a network error, which Stream retries).
 * Instead, as nginx's lingering close does, the answer goes out with a FIN, the rest of the body
 * is read and discarded, and the socket is destroyed when the body is in — or at the bounds, so a
 * client that never stops sending is cut off.
 */
export function lingerOnClose(request: IncomingMessage, bounds: LingerBounds): void {
  if (request.complete) return;
  const socket = request.socket as IncomingMessage['socket'] & { [destroySoon]?: () => void };
  if (socket[destroySoon] !== undefined) return;
  socket[destroySoon] = socket.destroySoon;
  // Half-close: our answer and a FIN go out; the client's bytes are still read.
  socket.destroySoon = function endOnly(this: typeof socket) {
    this.end();
  };
  const cut = () => socket.destroy();
  const timer = setTimeout(cut, bounds.maxMs);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  let discarded = 0;
  let pieces = 0;
  request.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > bounds.maxBytes || ++pieces > bounds.maxPieces) cut();
  });
  request.once('end', () => {
    clearTimeout(timer);
    const original = socket[destroySoon]!;
    socket.destroySoon = original;
    // The body is in: close as node would have (at once if the answer is written, else after it).
    if (socket.writableEnded) original.call(socket);
  });
  request.resume();
}
