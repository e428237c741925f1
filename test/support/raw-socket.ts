import { connect, type Socket } from 'node:net';
import { streamSignature } from './sign-fixture.js';
import { appKey, appSecret } from './servers.js';

/** A TCP connection to the server that records what it receives and how it ended. */
export interface RawConnection {
  socket: Socket;
  /** Everything received so far, as text. */
  received(): string;
  /** The socket error, if any (ECONNRESET, EPIPE, …). */
  error(): NodeJS.ErrnoException | undefined;
  /** Resolves when the server ended or closed the connection (or after `withinMs`: false). */
  closed(withinMs?: number): Promise<boolean>;
  /** Writes and waits until the bytes are handed to the kernel; false once the socket is unusable. */
  send(data: Buffer | string): Promise<boolean>;
  /** Resolves once `text` has been received (or after `withinMs`: false). */
  waitFor(text: string | RegExp, withinMs?: number): Promise<boolean>;
}

/**
 * `allowHalfOpen`: keep sending after the server's FIN, as a client still uploading a body does
 * (node's default ends the socket as soon as the FIN arrives).
 */
export async function openRaw(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<RawConnection> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: options.allowHalfOpen ?? false });
  let text = '';
  let failure: NodeJS.ErrnoException | undefined;
  let ended = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of waiters) waiter();
  };
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    wake();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    failure ??= error;
    wake();
  });
  socket.on('end', () => {
    ended = true;
    wake();
  });
  socket.on('close', () => {
    ended = true;
    wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const until = (done: () => boolean, withinMs: number) =>
    new Promise<boolean>((resolve) => {
      if (done()) return resolve(true);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        resolve(done());
      }, withinMs);
      waiters.add(check);
    });
  return {
    socket,
    received: () => text,
    error: () => failure,
    closed: (withinMs = 5000) => until(() => ended, withinMs),
    send: (data) =>
      new Promise<boolean>((resolve) => {
        if (socket.destroyed || !socket.writable) return resolve(false);
        socket.write(data, (error) => resolve(!error));
      }),
    waitFor: (wanted, withinMs = 5000) => until(() => (typeof wanted === 'string' ? text.includes(wanted) : wanted.test(text)), withinMs),
  };
}

/** The head of a signed POST (`Content-Length` when `length` is given, else chunked). */
export function requestHead(path: string, options: { length?: number; signatureOf?: string | Buffer; contentType?: string; keepAlive?: boolean } = {}): string {
  const lines = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', `Content-Type: ${options.contentType ?? 'application/json'}`, `X-Api-Key: ${appKey}`];
  lines.push(`X-Signature: ${options.signatureOf === undefined ? 'f'.repeat(64) : streamSignature(appSecret, options.signatureOf)}`);
  lines.push(options.length === undefined ? 'Transfer-Encoding: chunked' : `Content-Length: ${options.length}`);
  if (options.keepAlive === false) lines.push('Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** One HTTP/1.1 chunk of a chunked body. */
export function chunk(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')]);
}

export const lastChunk = '0\r\n\r\n';

/** The status line's code of the first answer received, or undefined. */
export function firstStatus(text: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** The first answer's body (after the blank line; Content-Length bodies only). */
export function firstBody(text: string): string {
  const start = text.indexOf('\r\n\r\n');
  const head = text.slice(0, start);
  const length = /content-length: (\d+)/i.exec(head);
  return text.slice(start + 4, length ? start + 4 + Number(length[1]) : undefined);
}
