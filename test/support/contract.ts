/**
 * Helpers for the wire-contract tests (REST, Twirp, signatures, routes, budget, retries, hostile
 * input) against real listening servers: bodies of exact sizes, exact error-shape checks, raw
 * HTTP, and the shared handler whose message text picks the decision.
 */
import { create, toBinary } from '@bufbuild/protobuf';
import { connect } from 'node:net';
import { expect } from 'vitest';
import { PendingMessageRequestSchema } from '../../src/gen/pendingmessage/v1/pending_message_pb.js';
import { decide, type PendingHooks, type PendingMessageEvent } from '../../src/index.js';
import { sleep } from './servers.js';


export const MiB = 1024 * 1024;
export const service = 'pendingmessage.v1.PendingMessageService';
let seq = 0;
export const uid = (p = 'm') => `${p}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

export function restBody(id: string, text = 'hello', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    message: { id, text, type: 'regular', cid: 'messaging:general', user: { id: 'u1', name: 'Ann' } },
    metadata: { source: 'contract' },
    request_info: { type: 'client', ip: '10.0.0.1', user_agent: 'ua', sdk: 'stream-chat-js' },
    ...extra,
  });
}

/** A valid REST / Twirp-JSON body of exactly `size` bytes (padding in a custom field). */
export function jsonOfSize(size: number, id = 'big'): string {
  const base = JSON.stringify({ message: { id, text: 'x' }, pad: '' });
  const out = base.replace('"pad":""', `"pad":"${'a'.repeat(size - base.length)}"`);
  if (Buffer.byteLength(out) !== size) throw new Error('size');
  return out;
}

/** A valid protobuf PendingMessageRequest of exactly `size` bytes. */
export function protoOfSize(size: number, id = 'big'): Uint8Array {
  let pad = size - 20;
  for (let i = 0; i < 10; i++) {
    const bytes = toBinary(PendingMessageRequestSchema, create(PendingMessageRequestSchema, { message: { id, text: 'a'.repeat(pad) } }));
    if (bytes.length === size) return bytes;
    pad += size - bytes.length;
  }
  throw new Error('cannot hit size');
}

export function protoRequest(id: string, text = 'hello', metadata: Record<string, string> = {}): Uint8Array {
  return toBinary(
    PendingMessageRequestSchema,
    create(PendingMessageRequestSchema, { message: { id, text, user: { id: 'u1' } }, metadata, requestInfo: { type: 'client', userAgent: 'ua' } }),
  );
}

export function twirpJsonBody(id: string, text = 'hello', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ message: { id, text, user: { id: 'u1' } }, metadata: { a: 'b' }, request_info: { type: 'client' }, ...extra });
}

export const twirpPath = (method: string, prefix = '/twirp') => `${prefix}/${service}/${method}`;

export async function expectRestError(response: Response, status: number, code: string): Promise<void> {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const json = JSON.parse(text) as Record<string, unknown>;
  expect(json.error).toBe(code);
  expect(typeof json.message).toBe('string');
  expect(Object.keys(json).sort()).toEqual(['error', 'message']);
}

export async function expectTwirpError(response: Response, status: number, code: string): Promise<void> {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status });
  // Exact `application/json` is checked by its own test (twirp-wire.test.ts).
  expect(response.headers.get('content-type')).toMatch(/^application\/json(;|$)/);
  const json = JSON.parse(text) as Record<string, unknown>;
  expect(json.code).toBe(code);
  expect(typeof json.msg).toBe('string');
  if (json.meta !== undefined) {
    expect(typeof json.meta).toBe('object');
    for (const value of Object.values(json.meta as object)) expect(typeof value).toBe('string');
  }
}

export interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** Sends raw HTTP/1.1 bytes (full control over headers), answers the status and body. */
export function rawHttp(port: number, head: string, body: Buffer | string = '', { bodyDelayMs = 0, waitMs = 5000 } = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const headPart = split < 0 ? text : text.slice(0, split);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headPart)?.[1] ?? 0);
      resolve({ status, head: headPart, body: split < 0 ? '' : text.slice(split + 4) });
    };
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', () => (clearTimeout(timer), done()));
    socket.on('error', () => {});
    socket.write(head);
    if (bodyDelayMs > 0) setTimeout(() => socket.write(body), bodyDelayMs);
    else socket.write(body);
  });
}

export function headWith(path: string, lines: string[], length: number): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${length}\r\n${lines.join('\r\n')}\r\n\r\n`;
}

export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Handler used by the shared servers: the message text picks the decision. */
export function register(seen: PendingMessageEvent[], counts: Map<string, number>) {
  return (hooks: PendingHooks) => {
    hooks.on('PassOnPendingMessage', async (event, ctx) => {
      seen.push(event);
      counts.set(event.message.id, (counts.get(event.message.id) ?? 0) + 1);
      const text = event.message.text ?? '';
      if (text === 'bad') return decide.delete('blocklist');
      if (text === 'keep') return decide.keepPending();
      if (text === 'empty-reason') return decide.commit('');
      if (text === 'throw') throw new Error('boom');
      if (text === 'hang') {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        return decide.commit('too-late');
      }
      if (text.startsWith('sleep:')) {
        await sleep(Number(text.slice(6)));
        return decide.delete('late');
      }
      return decide.commit();
    });
    hooks.on('DeletedPendingMessage', (event) => {
      seen.push(event);
      if (event.message.text === 'throw') throw new Error('boom');
    });
  };
}

