/**
 * The attacks of issue #9, each as a loop one attacker runs until told to stop. Every request is
 * written on a raw socket, so the bytes are exactly the attacker's (no client fixes them up).
 * Payloads are built once per case, not per request: the attacker's own CPU stays small.
 */
import { connect, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { sleep } from '../../src/core/deadline.js';
import { signCallbackBody } from '../../src/emulator/callback-encoding.js';

export interface AttackTarget {
  host: string;
  port: number;
  /** For the cases that need a valid signature (deep JSON); without it they are skipped. */
  secret?: string;
  apiKey?: string;
  restPath: string;
  twirpPath: string;
}

/** What one attacker achieved. */
export interface AttackTally {
  /** Attack units done: requests, or connections for the connection cases. */
  units: number;
  /** Bytes written. */
  bytes: number;
  /** Outcomes: an HTTP status, `closed` (no answer), `reset`. */
  outcomes: Record<string, number>;
}

export interface AttackCase {
  name: string;
  what: string;
  /** What a unit is, for the report. */
  unit: 'request' | 'connection';
  /** Bulk cases are judged by server CPU per MB the server must read; the rest by CPU per unit. */
  bulk: boolean;
  /** For bulk cases whose bytes grow on the server (gzip): the bytes it must read per unit. */
  serverBytesPerUnit?: number;
  needsSecret?: boolean;
  /** Statuses a unit may end with (anything else is a failure of the server). */
  expected: readonly string[];
  /** Runs one attacker until `signal` aborts. */
  attack(target: AttackTarget, tally: AttackTally, signal: AbortSignal): Promise<void>;
}

function head(target: AttackTarget, path: string, headers: Record<string, string>): string {
  const lines = [`POST ${path} HTTP/1.1`, `Host: ${target.host}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

const badSignature = 'ab'.repeat(32);

/** The head of a JSON callback of `length` bytes with this signature (and the target's api key). */
function jsonHead(target: AttackTarget, length: number, signature: string, extra: Record<string, string> = {}): string {
  return head(target, target.restPath, {
    'Content-Type': 'application/json',
    ...extra,
    'Content-Length': String(length),
    'X-Signature': signature,
    ...(target.apiKey ? { 'X-Api-Key': target.apiKey } : {}),
  });
}

/** Opens `count` connections (pausing `pauseMs` every 100), counted as units. */
async function openSockets(target: AttackTarget, count: number, tally: AttackTally, signal: AbortSignal, pauseMs = 0): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count && !signal.aborted; i++) {
    const socket = connect({ host: target.host, port: target.port });
    socket.on('error', () => {});
    sockets.push(socket);
    tally.units++;
    if (pauseMs > 0 && i % 100 === 99) await sleep(pauseMs, signal);
  }
  return sockets;
}

/** Tallies which connections the server closed and which were still open at the end, then drops them. */
function settleSockets(sockets: Socket[], tally: AttackTally): void {
  const open = sockets.filter((socket) => !socket.destroyed).length;
  tally.outcomes.aborted = (tally.outcomes.aborted ?? 0) + open;
  tally.outcomes.closed = (tally.outcomes.closed ?? 0) + sockets.length - open;
  for (const socket of sockets) socket.destroy();
}

/**
 * Opens a connection, writes the parts (awaiting each, so a server that stops reading holds the
 * attacker too), and resolves with the answer's status — or `closed` / `reset` — within `limitMs`.
 */
function exchange(target: AttackTarget, parts: readonly (Buffer | string)[], tally: AttackTally, signal: AbortSignal, limitMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    let status: string | undefined;
    let settled = false;
    const finish = (outcome: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      tally.units++;
      tally.outcomes[outcome] = (tally.outcomes[outcome] ?? 0) + 1;
      socket.destroy();
      resolve();
    };
    const onAbort = () => finish(status ?? 'aborted');
    const timer = setTimeout(() => finish(status ?? 'no answer'), limitMs);
    signal.addEventListener('abort', onAbort, { once: true });
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      if (status !== undefined) return;
      received += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
      // The answer's head is in: that is all an attacker waits for (a kept-alive connection
      // would otherwise hold it until the server's keep-alive timeout).
      if (match && received.includes('\r\n\r\n')) {
        status = match[1];
        finish(status!);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(status ?? (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? 'reset' : (error.code ?? 'error'))));
    socket.on('close', () => finish(status ?? 'closed'));
    socket.on('end', () => {
      // The server is done with us: stop sending (our half too).
      socket.end();
    });
    socket.once('connect', async () => {
      for (const part of parts) {
        if (settled || socket.writableEnded || socket.destroyed) return;
        const ok = socket.write(part);
        tally.bytes += part.length;
        if (!ok) await new Promise((drained) => (socket.once('drain', drained), socket.once('close', drained)));
      }
      // No half-close: a client waits for its answer with its side open (node's server aborts
      // a request whose client ended its side, as HTTP/1.1 allows).
    });
  });
}

async function loop(signal: AbortSignal, once: () => Promise<void>): Promise<void> {
  while (!signal.aborted) await once();
}

/** A 1 MiB JSON array of empty objects: about 1 KB gzipped. */
function gzipBomb(): Buffer {
  return gzipSync(Buffer.from(`[${'{},'.repeat((1024 * 1024 - 2) / 3 - 1)}{}]`), { level: 9 });
}

export function attackCases(): AttackCase[] {
  return [
    {
      name: 'redos-content-type',
      what: 'Twirp request whose content type has a 16,000-space charset parameter (the old backtracking pattern)',
      unit: 'request',
      bulk: false,
      expected: ['404', '415', '400'],
      attack(target, tally, signal) {
        const request = head(target, target.twirpPath, {
          'Content-Type': `application/json;charset=${' '.repeat(16_000)}x y`,
          'Content-Length': '2',
          'X-Signature': badSignature,
        });
        return loop(signal, () => exchange(target, [request, '{}'], tally, signal));
      },
    },
    {
      name: 'gzip-bomb-bad-signature',
      what: '1 KB gzip inflating to 1 MiB, wrong signature (the old signature-failure diagnostics re-parsed it)',
      unit: 'request',
      // Stream signs the inflated body, so checking costs what a signed callback of that size does.
      bulk: true,
      serverBytesPerUnit: 1024 * 1024,
      expected: ['401'],
      attack(target, tally, signal) {
        const body = gzipBomb();
        const request = jsonHead(target, body.length, badSignature, { 'Content-Encoding': 'gzip' });
        return loop(signal, () => exchange(target, [request, body], tally, signal));
      },
    },
    {
      name: 'tiny-chunks',
      what: 'a 1 MiB body in 1-byte HTTP chunks (a data event and an object per byte)',
      unit: 'request',
      bulk: true,
      // The 413 goes out; a client still flooding tiny chunks after it is cut off (no lingering
      // for it), and may see the reset before it reads the answer.
      expected: ['413', 'reset'],
      attack(target, tally, signal) {
        const request = head(target, target.restPath, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'X-Signature': badSignature });
        const chunks = Buffer.from('1\r\nx\r\n'.repeat(64 * 1024));
        // 16 × 64 Ki chunks: 1 MiB of payload in 6 MiB of framing.
        const parts = [request, ...Array.from({ length: 16 }, () => chunks), '0\r\n\r\n'];
        return loop(signal, () => exchange(target, parts, tally, signal));
      },
    },
    {
      name: 'oversize',
      what: 'a 2 MiB body declared and sent in full, again and again',
      unit: 'request',
      bulk: true,
      expected: ['413'],
      attack(target, tally, signal) {
        const piece = Buffer.alloc(64 * 1024, 'a');
        const request = head(target, target.restPath, { 'Content-Type': 'application/json', 'Content-Length': String(2 * 1024 * 1024), 'X-Signature': badSignature });
        return loop(signal, () => exchange(target, [request, ...Array.from({ length: 32 }, () => piece)], tally, signal));
      },
    },
    {
      name: 'unsigned-flood',
      what: 'well-formed 1 KB callbacks with a wrong signature, as fast as the server answers',
      unit: 'request',
      bulk: false,
      expected: ['401'],
      attack(target, tally, signal) {
        const body = JSON.stringify({ message: { id: 'attack', text: 'x'.repeat(900) } });
        const request = jsonHead(target, Buffer.byteLength(body), badSignature);
        return loop(signal, () => exchange(target, [request + body], tally, signal));
      },
    },
    {
      name: 'deep-json-signed',
      what: 'a validly signed body of 300,000 nested arrays',
      unit: 'request',
      bulk: true,
      needsSecret: true,
      expected: ['400'],
      attack(target, tally, signal) {
        const body = `{"message":${'['.repeat(300_000)}${']'.repeat(300_000)}}`;
        const signature = signCallbackBody(body, target.secret!);
        const request = jsonHead(target, body.length, signature);
        return loop(signal, () => exchange(target, [request, body], tally, signal));
      },
    },
    {
      name: 'slowloris',
      what: '250 connections per attacker, each sending its headers one byte every 200 ms',
      unit: 'connection',
      bulk: false,
      expected: ['408', 'closed', 'aborted', '400'],
      async attack(target, tally, signal) {
        const request = Buffer.from(head(target, target.restPath, { 'Content-Type': 'application/json', 'Content-Length': '2' }));
        const sockets = await openSockets(target, 250, tally, signal);
        let offset = 0;
        while (!signal.aborted && offset < request.length) {
          for (const socket of sockets) {
            if (!socket.destroyed) {
              socket.write(request.subarray(offset, offset + 1));
              tally.bytes++;
            }
          }
          offset++;
          await sleep(200, signal);
        }
        settleSockets(sockets, tally);
      },
    },
    {
      name: 'idle-connections',
      what: '1,000 connections per attacker that never send a byte',
      unit: 'connection',
      bulk: false,
      expected: ['closed', 'aborted'],
      async attack(target, tally, signal) {
        const sockets = await openSockets(target, 1000, tally, signal, 10);
        await sleep(60_000, signal);
        settleSockets(sockets, tally);
      },
    },
  ];
}
