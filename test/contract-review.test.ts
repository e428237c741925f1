/**
 * Second review of the wire contract (REFERENCE.md sections 2, 4 and 5) against real listening
 * servers. Every test names the contract rule it guards.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { request as httpRequest, Agent } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from '../src/emulator/index.js';
import {
  Action,
  PendingMessageRequestSchema,
  PendingMessageResponseSchema,
  MessageSchema,
} from '../src/gen/pendingmessage/v1/pending_message_pb.js';
import { createPendingHooks, createServer, decide, type PendingHooks, type PendingMessageEvent } from '../src/index.js';
import { appKey, appSecret, pendingBody, postSigned, sleep, startHooksServer, type RunningServer } from './support/servers.js';
import { streamSignature } from './support/sign-fixture.js';

const MiB = 1024 * 1024;
const service = 'pendingmessage.v1.PendingMessageService';
let seq = 0;
const uid = (p = 'm') => `${p}-${process.pid}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

function restBody(id: string, text = 'hello', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    message: { id, text, type: 'regular', cid: 'messaging:general', user: { id: 'u1', name: 'Ann' } },
    metadata: { source: 'review' },
    request_info: { type: 'client', ip: '10.0.0.1', user_agent: 'ua', sdk: 'stream-chat-js' },
    ...extra,
  });
}

/** A valid REST / Twirp-JSON body of exactly `size` bytes (padding in a custom field). */
function jsonOfSize(size: number, id = 'big'): string {
  const base = JSON.stringify({ message: { id, text: 'x' }, pad: '' });
  const out = base.replace('"pad":""', `"pad":"${'a'.repeat(size - base.length)}"`);
  if (Buffer.byteLength(out) !== size) throw new Error('size');
  return out;
}

/** A valid protobuf PendingMessageRequest of exactly `size` bytes. */
function protoOfSize(size: number, id = 'big'): Uint8Array {
  let pad = size - 20;
  for (let i = 0; i < 10; i++) {
    const bytes = toBinary(PendingMessageRequestSchema, create(PendingMessageRequestSchema, { message: { id, text: 'a'.repeat(pad) } }));
    if (bytes.length === size) return bytes;
    pad += size - bytes.length;
  }
  throw new Error('cannot hit size');
}

function protoRequest(id: string, text = 'hello', metadata: Record<string, string> = {}): Uint8Array {
  return toBinary(
    PendingMessageRequestSchema,
    create(PendingMessageRequestSchema, { message: { id, text, user: { id: 'u1' } }, metadata, requestInfo: { type: 'client', userAgent: 'ua' } }),
  );
}

function twirpJsonBody(id: string, text = 'hello', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ message: { id, text, user: { id: 'u1' } }, metadata: { a: 'b' }, request_info: { type: 'client' }, ...extra });
}

const twirpPath = (method: string, prefix = '/twirp') => `${prefix}/${service}/${method}`;

async function expectRestError(response: Response, status: number, code: string): Promise<void> {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const json = JSON.parse(text) as Record<string, unknown>;
  expect(json.error).toBe(code);
  expect(typeof json.message).toBe('string');
  expect(Object.keys(json).sort()).toEqual(['error', 'message']);
}

async function expectTwirpError(response: Response, status: number, code: string): Promise<void> {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status });
  // Exact `application/json` is checked by its own test below (see the review report).
  expect(response.headers.get('content-type')).toMatch(/^application\/json(;|$)/);
  const json = JSON.parse(text) as Record<string, unknown>;
  expect(json.code).toBe(code);
  expect(typeof json.msg).toBe('string');
  if (json.meta !== undefined) {
    expect(typeof json.meta).toBe('object');
    for (const value of Object.values(json.meta as object)) expect(typeof value).toBe('string');
  }
}

interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/** Sends raw HTTP/1.1 bytes (full control over headers), answers the status and body. */
function rawHttp(port: number, head: string, body: Buffer | string = '', { bodyDelayMs = 0, waitMs = 5000 } = {}): Promise<RawAnswer> {
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

function headWith(path: string, lines: string[], length: number): string {
  return `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${length}\r\n${lines.join('\r\n')}\r\n\r\n`;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Handler used by the shared servers: the message text picks the decision. */
function register(seen: PendingMessageEvent[], counts: Map<string, number>) {
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

// ---------------------------------------------------------------------------------------------

describe('REST answers, errors and order of checks (default server)', () => {
  let server: RunningServer;
  const seen: PendingMessageEvent[] = [];
  const counts = new Map<string, number>();
  beforeAll(async () => {
    server = await startHooksServer({}, register(seen, counts));
  });
  afterAll(() => server.close());
  const passOn = () => `${server.url}/PassOnPendingMessage`;
  const deleted = () => `${server.url}/DeletedPendingMessage`;

  it('PassOn commit without reason: exactly {"action":"commit","timed_out":false} (reason omitted)', async () => {
    const response = await postSigned(passOn(), restBody(uid()));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const json = await response.json();
    expect(json).toStrictEqual({ action: 'commit', timed_out: false });
  });

  it('PassOn omits reason when the handler gives an empty reason', async () => {
    const json = await (await postSigned(passOn(), restBody(uid(), 'empty-reason'))).json();
    expect(json).toStrictEqual({ action: 'commit', timed_out: false });
  });

  it('PassOn delete with reason; keep_pending without', async () => {
    expect(await (await postSigned(passOn(), restBody(uid(), 'bad'))).json()).toStrictEqual({ action: 'delete', reason: 'blocklist', timed_out: false });
    expect(await (await postSigned(passOn(), restBody(uid(), 'keep'))).json()).toStrictEqual({ action: 'keep_pending', timed_out: false });
  });

  it('a handler that throws → fallback with reason handler_error, timed_out false, still 200', async () => {
    const response = await postSigned(passOn(), restBody(uid(), 'throw'));
    expect(response.status).toBe(200);
    expect(await response.json()).toStrictEqual({ action: 'keep_pending', reason: 'handler_error', timed_out: false });
  });

  it('DeletedPendingMessage answers 200 exactly {"ok": true}, even when its handler throws', async () => {
    for (const text of ['hi', 'throw']) {
      const response = await postSigned(deleted(), restBody(uid(), text));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('{"ok":true}');
    }
  });

  it('unknown path → 404 not_found; wrong method → 405 method_not_allowed', async () => {
    await expectRestError(await postSigned(`${server.url}/Nope`, restBody(uid())), 404, 'not_found');
    await expectRestError(await postSigned(`${server.url}/PassOnPendingMessage/extra`, restBody(uid())), 404, 'not_found');
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      await expectRestError(await fetch(passOn(), { method }), 405, 'method_not_allowed');
      await expectRestError(await fetch(deleted(), { method }), 405, 'method_not_allowed');
    }
    expect((await fetch(passOn(), { method: 'HEAD' })).status).toBe(405);
  });

  it('wrong content type → 415 unsupported_media_type (text/plain, none, protobuf, json-ish)', async () => {
    for (const contentType of ['text/plain', 'application/protobuf', 'application/x-www-form-urlencoded', 'application/jsonx', 'text/json']) {
      await expectRestError(await postSigned(passOn(), restBody(uid()), { contentType }), 415, 'unsupported_media_type');
    }
    const none = await fetch(passOn(), { method: 'POST', body: new Uint8Array(Buffer.from(restBody(uid()))), headers: { 'x-signature': 'x' } });
    await expectRestError(none, 415, 'unsupported_media_type');
  });

  it('Content-Type is matched case-insensitively and with parameters (APPLICATION/JSON, charset)', async () => {
    for (const contentType of ['APPLICATION/JSON', 'Application/Json; Charset=UTF-8', 'application/json;charset=utf-8', 'application/json ; charset=utf-8']) {
      const response = await postSigned(passOn(), restBody(uid()), { contentType });
      expect({ contentType, status: response.status }).toEqual({ contentType, status: 200 });
    }
  });

  it('order: route before method, method before content type', async () => {
    await expectRestError(await fetch(`${server.url}/Nope`, { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } }), 404, 'not_found');
    await expectRestError(await fetch(passOn(), { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } }), 405, 'method_not_allowed');
  });

  it('order: content type before size (oversized text/plain unsigned → 415)', async () => {
    await expectRestError(await postSigned(passOn(), 'x'.repeat(MiB + 10), { contentType: 'text/plain', secret: null }), 415, 'unsupported_media_type');
  });

  it('order: an unsigned text/plain request is 415, not 401', async () => {
    await expectRestError(await postSigned(passOn(), 'hello', { contentType: 'text/plain', secret: null }), 415, 'unsupported_media_type');
  });

  it('order: size before signature (raw and inflated) → 413', async () => {
    await expectRestError(await postSigned(passOn(), jsonOfSize(MiB + 1), { secret: null }), 413, 'payload_too_large');
    const over = jsonOfSize(MiB + 1);
    await expectRestError(await postSigned(passOn(), over, { secret: null, wire: gzipSync(over), headers: { 'content-encoding': 'gzip' } }), 413, 'payload_too_large');
    await expectRestError(await postSigned(passOn(), over, { apiKey: 'unknown', wire: gzipSync(over) }), 413, 'payload_too_large');
  });

  it('order: signature before decode (unsigned malformed JSON → 401), decode before validate', async () => {
    await expectRestError(await postSigned(passOn(), '{"message":', { secret: null }), 401, 'invalid_signature');
    await expectRestError(await postSigned(passOn(), '{"message":', { secret: 'wrong' }), 401, 'invalid_signature');
    await expectRestError(await postSigned(passOn(), '{"message":', { apiKey: 'nope' }), 401, 'unknown_api_key');
    await expectRestError(await postSigned(passOn(), '', { secret: null }), 401, 'invalid_signature');
    await expectRestError(await postSigned(passOn(), '{"message":'), 400, 'malformed_json');
    await expectRestError(await postSigned(passOn(), '{"message":{"text":"no id"}}'), 400, 'invalid_payload');
  });

  it('an empty body (signed) → 400 malformed_json, for both methods', async () => {
    await expectRestError(await postSigned(passOn(), ''), 400, 'malformed_json');
    await expectRestError(await postSigned(deleted(), ''), 400, 'malformed_json');
  });

  it('valid JSON that is not an object → 400 invalid_payload', async () => {
    for (const body of ['[]', '[{"message":{"id":"x"}}]', '"str"', '42', 'null', 'true', ' 1 ']) {
      await expectRestError(await postSigned(passOn(), body), 400, 'invalid_payload');
    }
  });

  it('a payload without message.id → 400 invalid_payload', async () => {
    for (const body of ['{}', '{"message":null}', '{"message":{}}', '{"message":{"id":""}}', '{"message":{"id":7}}', '{"message":"x"}']) {
      await expectRestError(await postSigned(passOn(), body), 400, 'invalid_payload');
    }
  });

  it('broken JSON variants → 400 malformed_json', async () => {
    for (const body of ['{', '{"message":{"id":"x"}', 'nul', '{"a":1,}', '\u0000', '{"message":{"id":"x"}} trailing']) {
      await expectRestError(await postSigned(passOn(), body), 400, 'malformed_json');
    }
  });

  it('size: exactly 1 MiB raw is accepted, 1 MiB + 1 is 413', async () => {
    expect((await postSigned(passOn(), jsonOfSize(MiB, uid()))).status).toBe(200);
    await expectRestError(await postSigned(passOn(), jsonOfSize(MiB + 1)), 413, 'payload_too_large');
  });

  it('size: inflated exactly 1 MiB accepted, 1 MiB + 1 is 413 (Content-Encoding and magic-only)', async () => {
    const exact = jsonOfSize(MiB, uid());
    const over = jsonOfSize(MiB + 1);
    expect((await postSigned(passOn(), exact, { wire: gzipSync(exact), headers: { 'content-encoding': 'gzip' } })).status).toBe(200);
    expect((await postSigned(passOn(), exact, { wire: gzipSync(exact) })).status).toBe(200);
    await expectRestError(await postSigned(passOn(), over, { wire: gzipSync(over), headers: { 'content-encoding': 'gzip' } }), 413, 'payload_too_large');
    await expectRestError(await postSigned(passOn(), over, { wire: gzipSync(over) }), 413, 'payload_too_large');
  });

  it('size: the raw limit applies to the compressed bytes too (stored gzip of exactly 1 MiB is > 1 MiB on the wire → 413)', async () => {
    const exact = jsonOfSize(MiB, uid());
    const wire = gzipSync(exact, { level: 0 });
    expect(wire.length).toBeGreaterThan(MiB);
    await expectRestError(await postSigned(passOn(), exact, { wire, headers: { 'content-encoding': 'gzip' } }), 413, 'payload_too_large');
  });

  it('size: chunked transfer (no Content-Length) gets the same inclusive limit', async () => {
    const send = (body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = httpRequest(passOn(), {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': appKey, 'x-signature': streamSignature(appSecret, body), 'transfer-encoding': 'chunked' },
        });
        req.on('response', (res) => (res.resume(), resolve(res.statusCode ?? 0)));
        req.on('error', reject);
        const bytes = Buffer.from(body);
        for (let i = 0; i < bytes.length; i += 65_536) req.write(bytes.subarray(i, i + 65_536));
        req.end();
      });
    expect(await send(jsonOfSize(MiB, uid()))).toBe(200);
    expect(await send(jsonOfSize(MiB + 1))).toBe(413);
  });

  it('JSON depth: exactly 64 (outermost = 1) passes, 65 is 400 malformed_json', async () => {
    // outer object = 1, message = 2, then 62 arrays → 64
    const d64 = `{"message":{"id":"${uid()}","deep":${'['.repeat(62)}${']'.repeat(62)}}}`;
    const d65 = `{"message":{"id":"d65","deep":${'['.repeat(63)}${']'.repeat(63)}}}`;
    expect((await postSigned(passOn(), d64)).status).toBe(200);
    await expectRestError(await postSigned(passOn(), d65), 400, 'malformed_json');
    // objects count like arrays
    const obj64 = `{"message":{"id":"${uid()}","deep":${'{"a":'.repeat(62)}1${'}'.repeat(62)}}}`;
    const obj65 = `{"message":{"id":"o65","deep":${'{"a":'.repeat(63)}1${'}'.repeat(63)}}}`;
    expect((await postSigned(passOn(), obj64)).status).toBe(200);
    await expectRestError(await postSigned(passOn(), obj65), 400, 'malformed_json');
  });

  it('JSON depth: brackets and escaped quotes inside strings do not count', async () => {
    const tricky = JSON.stringify({ message: { id: uid(), text: '['.repeat(500) + '\\"{{{' + '"'.repeat(3) + '\\' } });
    expect((await postSigned(passOn(), tricky)).status).toBe(200);
  });

  it('JSON depth: deep nesting past the limit inside a gzip body is refused (checked after inflate)', async () => {
    const d65 = `{"message":{"id":"d65","deep":${'['.repeat(63)}${']'.repeat(63)}}}`;
    await expectRestError(await postSigned(passOn(), d65, { wire: gzipSync(d65), headers: { 'content-encoding': 'gzip' } }), 400, 'malformed_json');
  });

  it('hostile nesting (200k brackets) is refused quickly, server keeps serving', async () => {
    const started = performance.now();
    await expectRestError(await postSigned(passOn(), '['.repeat(200_000)), 400, 'malformed_json');
    await expectRestError(await postSigned(passOn(), '{"a":'.repeat(100_000)), 400, 'malformed_json');
    expect(performance.now() - started).toBeLessThan(2000);
    expect((await postSigned(passOn(), restBody(uid()))).status).toBe(200);
  });

  it('signature: hex is case-insensitive', async () => {
    const body = restBody(uid());
    const sig = streamSignature(appSecret, body);
    expect((await postSigned(passOn(), body, { signature: sig.toUpperCase() })).status).toBe(200);
    const body2 = restBody(uid());
    const mixed2 = [...streamSignature(appSecret, body2)].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join('');
    expect((await postSigned(passOn(), body2, { signature: mixed2 })).status).toBe(200);
  });

  it('signature: missing, wrong, truncated, prefixed, spaced, over another body → 401 invalid_signature', async () => {
    const body = restBody(uid());
    const sig = streamSignature(appSecret, body);
    for (const signature of ['', 'abc', sig.slice(0, 63), `${sig}0`, `sha256=${sig}`, `${sig.slice(0, 32)} ${sig.slice(32)}`, streamSignature(appSecret, body + ' '), 'z'.repeat(64), Buffer.from(sig, 'hex').toString('base64')]) {
      await expectRestError(await postSigned(passOn(), body, { signature }), 401, 'invalid_signature');
    }
    await expectRestError(await postSigned(passOn(), body, { secret: null }), 401, 'invalid_signature');
  });

  it('signature: verified over the raw bytes, not re-serialized JSON', async () => {
    const id = uid();
    const pretty = JSON.stringify({ message: { id, text: 'x' } }, null, 2);
    const compact = JSON.stringify({ message: { id, text: 'x' } });
    expect((await postSigned(passOn(), pretty)).status).toBe(200);
    await expectRestError(await postSigned(passOn(), pretty, { signature: streamSignature(appSecret, compact) }), 401, 'invalid_signature');
  });

  it('signature: computed over the compressed bytes is rejected (header or magic)', async () => {
    const body = restBody(uid());
    const wire = gzipSync(body);
    const overCompressed = streamSignature(appSecret, wire);
    await expectRestError(await postSigned(passOn(), body, { wire, signature: overCompressed, headers: { 'content-encoding': 'gzip' } }), 401, 'invalid_signature');
    await expectRestError(await postSigned(passOn(), body, { wire, signature: overCompressed }), 401, 'invalid_signature');
  });

  it('gzip is recognised by Content-Encoding (any case) or by the magic bytes', async () => {
    for (const headers of [{ 'content-encoding': 'gzip' }, { 'content-encoding': 'GZIP' }, {}] as Record<string, string>[]) {
      const body = restBody(uid(), 'bad');
      const response = await postSigned(passOn(), body, { wire: gzipSync(body), headers });
      expect(await response.json()).toStrictEqual({ action: 'delete', reason: 'blocklist', timed_out: false });
    }
  });

  it('X-Api-Key with one app: missing accepted, unknown → 401 unknown_api_key', async () => {
    expect((await postSigned(passOn(), restBody(uid()), { apiKey: null })).status).toBe(200);
    await expectRestError(await postSigned(passOn(), restBody(uid()), { apiKey: 'other-key' }), 401, 'unknown_api_key');
    await expectRestError(await postSigned(passOn(), restBody(uid()), { apiKey: `${appKey}x` }), 401, 'unknown_api_key');
  });

  it('the event carries webhook id, attempt, api key, transport, metadata and request_info', async () => {
    const id = uid();
    await postSigned(passOn(), restBody(id, 'hello', { future: 1 }), { webhookId: `w-${id}`, attempt: 3 });
    const event = seen.find((e) => e.message.id === id)!;
    expect(event).toMatchObject({ webhookId: `w-${id}`, attempt: 3, apiKey: appKey, transport: 'rest', metadata: { source: 'review' }, requestInfo: { user_agent: 'ua', sdk: 'stream-chat-js' } });
  });
});

// ---------------------------------------------------------------------------------------------

describe('Twirp wire protocol (default /twirp prefix)', () => {
  let server: RunningServer;
  const seen: PendingMessageEvent[] = [];
  const counts = new Map<string, number>();
  beforeAll(async () => {
    server = await startHooksServer({}, register(seen, counts));
  });
  afterAll(() => server.close());
  const url = (method = 'PassOnPendingMessage') => `${server.url}${twirpPath(method)}`;
  const pb = { contentType: 'application/protobuf' };

  it('protobuf in → protobuf out (content type application/protobuf), decision fields set', async () => {
    const response = await postSigned(url(), protoRequest(uid(), 'bad'), pb);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/protobuf');
    const answer = fromBinary(PendingMessageResponseSchema, new Uint8Array(await response.arrayBuffer()));
    expect(answer.action).toBe(Action.DELETE);
    expect(answer.reason).toBe('blocklist');
    expect(answer.timedOut).toBe(false);
    expect(answer.accepted).toBe(false);
  });

  it('JSON in → JSON out with proto field names and unpopulated fields emitted', async () => {
    const response = await postSigned(url(), twirpJsonBody(uid()));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toStrictEqual({ action: 'ACTION_COMMIT', reason: '', timed_out: false, accepted: false });
    expect(await (await postSigned(url(), twirpJsonBody(uid(), 'keep'))).json()).toStrictEqual({ action: 'ACTION_KEEP_PENDING', reason: '', timed_out: false, accepted: false });
    expect(await (await postSigned(url(), twirpJsonBody(uid(), 'throw'))).json()).toStrictEqual({ action: 'ACTION_KEEP_PENDING', reason: 'handler_error', timed_out: false, accepted: false });
  });

  it('DeletedPendingMessageResponse is an empty message (protobuf: 0 bytes, JSON: {})', async () => {
    const binary = await postSigned(url('DeletedPendingMessage'), protoRequest(uid()), pb);
    expect(binary.status).toBe(200);
    expect(binary.headers.get('content-type')).toBe('application/protobuf');
    expect((await binary.arrayBuffer()).byteLength).toBe(0);
    const json = await postSigned(url('DeletedPendingMessage'), twirpJsonBody(uid()));
    expect(json.status).toBe(200);
    expect(await json.json()).toStrictEqual({});
  });

  it('JSON requests accept lowerCamelCase and ignore unknown fields; custom is flattened', async () => {
    const id = uid();
    const body = JSON.stringify({
      message: { id, text: 'hi', parentId: 'p1', showInChannel: true, quotedMessageId: 'q1', custom: { flag: true, priority: 'high' }, notAField: 1 },
      requestInfo: { userAgent: 'agent', sdk: 'js' },
      metadata: { k: 'v' },
      somethingNew: { nested: [1, 2] },
    });
    const response = await postSigned(url(), body);
    expect(response.status).toBe(200);
    const event = seen.find((e) => e.message.id === id)!;
    expect(event.transport).toBe('twirp-json');
    expect(event.message).toMatchObject({ id, parent_id: 'p1', show_in_channel: true, quoted_message_id: 'q1', flag: true, priority: 'high' });
    expect(event.requestInfo).toMatchObject({ user_agent: 'agent', sdk: 'js' });
    expect(event.metadata).toEqual({ k: 'v' });
  });

  it('a request without message.id → invalid_argument 400 (JSON and protobuf)', async () => {
    for (const body of ['{}', '{"message":{}}', '{"message":{"id":""}}', '{"message":null}', '{"message":{"text":"x"}}']) {
      await expectTwirpError(await postSigned(url(), body), 400, 'invalid_argument');
    }
    await expectTwirpError(await postSigned(url(), new Uint8Array(0), pb), 400, 'invalid_argument');
    const noId = toBinary(PendingMessageRequestSchema, create(PendingMessageRequestSchema, { message: { text: 'x' } }));
    await expectTwirpError(await postSigned(url(), noId, pb), 400, 'invalid_argument');
    await expectTwirpError(await postSigned(url('DeletedPendingMessage'), '{"message":{}}'), 400, 'invalid_argument');
  });

  it('undecodable bodies → malformed 400 (JSON and protobuf); empty JSON body → malformed', async () => {
    await expectTwirpError(await postSigned(url(), ''), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), '{"message":'), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), '{"message":{"id":5}}'), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), pb), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), Buffer.from([0x0a, 0x7f, 0x01]), pb), 400, 'malformed');
  });

  it('JSON depth: exactly 64 passes, 65 → malformed (unknown field and inside custom Struct)', async () => {
    const top64 = `{"message":{"id":"${uid()}"},"extra":${'['.repeat(63)}${']'.repeat(63)}}`;
    const top65 = `{"message":{"id":"t65"},"extra":${'['.repeat(64)}${']'.repeat(64)}}`;
    expect((await postSigned(url(), top64)).status).toBe(200);
    await expectTwirpError(await postSigned(url(), top65), 400, 'malformed');
    // outer 1, message 2, custom 3, then 61 arrays → 64
    const c64 = `{"message":{"id":"${uid()}","custom":{"deep":${'['.repeat(61)}${']'.repeat(61)}}}}`;
    const c65 = `{"message":{"id":"c65","custom":{"deep":${'['.repeat(62)}${']'.repeat(62)}}}}`;
    expect((await postSigned(url(), c64)).status).toBe(200);
    await expectTwirpError(await postSigned(url(), c65), 400, 'malformed');
  });

  it('protobuf nesting past the recursion limit → malformed, never a crash', async () => {
    let nested: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 300; i++) nested = { a: nested };
    const bytes = toBinary(PendingMessageRequestSchema, create(PendingMessageRequestSchema, { message: create(MessageSchema, { id: 'deep', custom: nested as never }) }));
    await expectTwirpError(await postSigned(url(), bytes, pb), 400, 'malformed');
    expect((await postSigned(url(), protoRequest(uid()), pb)).status).toBe(200);
  });

  it('size: exactly 1 MiB accepted, 1 MiB + 1 → invalid_argument 400 (protobuf and JSON, raw and inflated)', async () => {
    expect((await postSigned(url(), protoOfSize(MiB, uid()), pb)).status).toBe(200);
    await expectTwirpError(await postSigned(url(), protoOfSize(MiB + 1), pb), 400, 'invalid_argument');
    expect((await postSigned(url(), jsonOfSize(MiB, uid()))).status).toBe(200);
    await expectTwirpError(await postSigned(url(), jsonOfSize(MiB + 1)), 400, 'invalid_argument');
    const overJ = jsonOfSize(MiB + 1);
    await expectTwirpError(await postSigned(url(), overJ, { wire: gzipSync(overJ), headers: { 'content-encoding': 'gzip' } }), 400, 'invalid_argument');
    const exactJ = jsonOfSize(MiB, uid());
    expect((await postSigned(url(), exactJ, { wire: gzipSync(exactJ), headers: { 'content-encoding': 'gzip' } })).status).toBe(200);
    const overP = protoOfSize(MiB + 1);
    await expectTwirpError(await postSigned(url(), overP, { ...pb, wire: gzipSync(overP), headers: { 'content-encoding': 'gzip' } }), 400, 'invalid_argument');
    const exactP = protoOfSize(MiB, uid());
    expect((await postSigned(url(), exactP, { ...pb, wire: gzipSync(exactP), headers: { 'content-encoding': 'gzip' } })).status).toBe(200);
  });

  it('signature: same X-Signature over raw protobuf / JSON bytes; missing, bad or compressed → unauthenticated 401', async () => {
    await expectTwirpError(await postSigned(url(), protoRequest(uid()), { ...pb, secret: null }), 401, 'unauthenticated');
    await expectTwirpError(await postSigned(url(), twirpJsonBody(uid()), { secret: 'wrong' }), 401, 'unauthenticated');
    await expectTwirpError(await postSigned(url(), twirpJsonBody(uid()), { apiKey: 'nope' }), 401, 'unauthenticated');
    const body = protoRequest(uid());
    const wire = gzipSync(body);
    await expectTwirpError(await postSigned(url(), body, { ...pb, wire, signature: streamSignature(appSecret, wire), headers: { 'content-encoding': 'gzip' } }), 401, 'unauthenticated');
    expect((await postSigned(url(), body, { ...pb, wire, headers: { 'content-encoding': 'gzip' } })).status).toBe(200);
    const upper = protoRequest(uid());
    expect((await postSigned(url(), upper, { ...pb, signature: streamSignature(appSecret, upper).toUpperCase() })).status).toBe(200);
  });

  it('wrong method, unknown route or content type → bad_route 404 (JSON, application/json)', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      await expectTwirpError(await fetch(url(), { method }), 404, 'bad_route');
    }
    await expectTwirpError(await postSigned(`${server.url}/twirp/${service}/Nope`, twirpJsonBody(uid())), 404, 'bad_route');
    await expectTwirpError(await postSigned(`${server.url}/twirp/other.v1.Service/PassOnPendingMessage`, twirpJsonBody(uid())), 404, 'bad_route');
    await expectTwirpError(await postSigned(`${server.url}/twirp/${service}/passonpendingmessage`, twirpJsonBody(uid())), 404, 'bad_route');
    for (const contentType of ['text/plain', 'application/x-protobuf', 'application/grpc', 'application/proto', 'multipart/form-data']) {
      await expectTwirpError(await postSigned(url(), twirpJsonBody(uid()), { contentType, secret: null }), 404, 'bad_route');
    }
    const none = await fetch(url(), { method: 'POST', body: new Uint8Array(protoRequest(uid())) });
    await expectTwirpError(none, 404, 'bad_route');
  });

  it('order for Twirp: route/method → content type → size → signature → decode → validate', async () => {
    await expectTwirpError(await fetch(url(), { method: 'PUT', body: 'x', headers: { 'content-type': 'text/plain' } }), 404, 'bad_route');
    await expectTwirpError(await postSigned(url(), 'x'.repeat(MiB + 5), { contentType: 'text/plain', secret: null }), 404, 'bad_route');
    await expectTwirpError(await postSigned(url(), jsonOfSize(MiB + 1), { secret: null }), 400, 'invalid_argument');
    await expectTwirpError(await postSigned(url(), '{"message":', { secret: null }), 401, 'unauthenticated');
    await expectTwirpError(await postSigned(url(), Buffer.from([0xff, 0xff]), { ...pb, secret: null }), 401, 'unauthenticated');
    await expectTwirpError(await postSigned(url(), '{"message":'), 400, 'malformed');
    await expectTwirpError(await postSigned(url(), '{"message":{}}'), 400, 'invalid_argument');
  });

  it('Twirp content type: charset parameter and upper case accepted', async () => {
    for (const contentType of ['application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;charset=UTF-8']) {
      const response = await postSigned(url(), twirpJsonBody(uid()), { contentType });
      expect({ contentType, status: response.status }).toEqual({ contentType, status: 200 });
      expect(((await response.json()) as { action: string }).action).toBe('ACTION_COMMIT');
    }
    const response = await postSigned(url(), protoRequest(uid()), { contentType: 'Application/Protobuf' });
    expect(response.status).toBe(200);
  });

  it('the event from protobuf has the REST shape', async () => {
    const id = uid();
    await postSigned(url(), protoRequest(id, 'hi', { k: 'v' }), { ...pb, webhookId: `w-${id}`, attempt: 2 });
    const event = seen.find((e) => e.message.id === id)!;
    expect(event).toMatchObject({ transport: 'twirp-protobuf', webhookId: `w-${id}`, attempt: 2, metadata: { k: 'v' }, requestInfo: { type: 'client', user_agent: 'ua' }, message: { id, text: 'hi', user: { id: 'u1' } } });
  });

  it('several hostile Twirp requests return errors in Twirp JSON, server keeps serving', async () => {
    const answers = await Promise.all([
      postSigned(url(), Buffer.from([0x1f, 0x8b, 0, 0]), pb),
      postSigned(url(), Buffer.from([0x1f, 0x8b, 0, 0]), { headers: { 'content-encoding': 'gzip' } }),
      postSigned(url(), Buffer.from([0xff, 0xfe, 0xfd]), { contentType: 'application/json' }),
      postSigned(url(), '['.repeat(100_000)),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json(;|$)/);
      expect(((await answer.json()) as { code: string }).code).toBe('malformed');
    }
    expect((await postSigned(url(), protoRequest(uid()), pb)).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------

describe('X-Api-Key with several apps', () => {
  let server: RunningServer;
  const secondKey = 'second-key';
  const secondSecret = 'second-secret-abcdef';
  const seen: PendingMessageEvent[] = [];
  beforeAll(async () => {
    const logger = pino({ level: 'silent' });
    const hooks = createPendingHooks({ apps: [{ apiKey: appKey, secrets: [appSecret] }, { apiKey: secondKey, secrets: [secondSecret, 'old-secret-xyz'] }], logger });
    hooks.on('PassOnPendingMessage', (event) => (seen.push(event), decide.commit()));
    const app = await createServer(hooks);
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    server = { url: address, hooks, app, logs: [], close: () => app.close() };
  });
  afterAll(() => server.close());

  it('a missing key → 401 unknown_api_key (REST) / unauthenticated (Twirp)', async () => {
    await expectRestError(await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: null }), 401, 'unknown_api_key');
    await expectRestError(await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: '' }), 401, 'unknown_api_key');
    await expectTwirpError(await postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, twirpJsonBody(uid()), { apiKey: null }), 401, 'unauthenticated');
  });

  it('each key selects its own secrets; an unknown key is 401; rotation secrets accepted', async () => {
    expect((await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: appKey })).status).toBe(200);
    expect((await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: secondKey, secret: secondSecret })).status).toBe(200);
    expect((await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: secondKey, secret: 'old-secret-xyz' })).status).toBe(200);
    await expectRestError(await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: secondKey, secret: appSecret }), 401, 'invalid_signature');
    await expectRestError(await postSigned(`${server.url}/PassOnPendingMessage`, restBody(uid()), { apiKey: 'third' }), 401, 'unknown_api_key');
  });

  it('dedupe key is (api key, X-Webhook-Id): the same id under two apps runs the handler twice', async () => {
    const id = uid();
    const wh = `w-${id}`;
    await postSigned(`${server.url}/PassOnPendingMessage`, restBody(id), { apiKey: appKey, webhookId: wh });
    await postSigned(`${server.url}/PassOnPendingMessage`, restBody(id), { apiKey: secondKey, secret: secondSecret, webhookId: wh });
    await postSigned(`${server.url}/PassOnPendingMessage`, restBody(id), { apiKey: secondKey, secret: secondSecret, webhookId: wh });
    expect(seen.filter((e) => e.message.id === id).map((e) => e.apiKey).sort()).toEqual([appKey, secondKey].sort());
  });
});

// ---------------------------------------------------------------------------------------------

describe('both prefixes empty, and custom prefixes', () => {
  let empty: RunningServer;
  let custom: RunningServer;
  beforeAll(async () => {
    const reg = register([], new Map());
    empty = await startHooksServer({ rest: { mount: '' }, twirp: { prefix: '' } }, reg);
    custom = await startHooksServer({ rest: { mount: '/hooks' }, twirp: { prefix: '/rpc' } }, reg);
  });
  afterAll(async () => {
    await empty.close();
    await custom.close();
  });

  it("mount '' and prefix '': /{package}.{Service}/{Method} is Twirp, /PassOnPendingMessage is REST", async () => {
    const twirp = await postSigned(`${empty.url}/${service}/PassOnPendingMessage`, twirpJsonBody(uid()));
    expect(await twirp.json()).toStrictEqual({ action: 'ACTION_COMMIT', reason: '', timed_out: false, accepted: false });
    const rest = await postSigned(`${empty.url}/PassOnPendingMessage`, restBody(uid()));
    expect(await rest.json()).toStrictEqual({ action: 'commit', timed_out: false });
    const pbAnswer = await postSigned(`${empty.url}/${service}/DeletedPendingMessage`, protoRequest(uid()), { contentType: 'application/protobuf' });
    expect(pbAnswer.status).toBe(200);
  });

  it("mount '' and prefix '': unknown Twirp-shaped paths → bad_route; every other path → REST not_found", async () => {
    await expectTwirpError(await postSigned(`${empty.url}/${service}/Nope`, twirpJsonBody(uid())), 404, 'bad_route');
    await expectTwirpError(await postSigned(`${empty.url}/other.Service/Method`, twirpJsonBody(uid())), 404, 'bad_route');
    await expectTwirpError(await fetch(`${empty.url}/${service}/PassOnPendingMessage`), 404, 'bad_route');
    await expectTwirpError(await postSigned(`${empty.url}/${service}/PassOnPendingMessage`, 'x', { contentType: 'text/plain' }), 404, 'bad_route');
    await expectRestError(await postSigned(`${empty.url}/nope`, restBody(uid())), 404, 'not_found');
    await expectRestError(await postSigned(`${empty.url}/a/b/c`, restBody(uid())), 404, 'not_found');
    await expectRestError(await fetch(`${empty.url}/`), 404, 'not_found');
    await expectRestError(await fetch(`${empty.url}/PassOnPendingMessage`), 405, 'method_not_allowed');
  });

  it('custom mount and prefix: routes, unknown paths in each protocol', async () => {
    expect(await (await postSigned(`${custom.url}/hooks/PassOnPendingMessage`, restBody(uid()))).json()).toStrictEqual({ action: 'commit', timed_out: false });
    expect((await (await postSigned(`${custom.url}/rpc/${service}/PassOnPendingMessage`, twirpJsonBody(uid()))).json() as { action: string }).action).toBe('ACTION_COMMIT');
    await expectRestError(await postSigned(`${custom.url}/hooks/Nope`, restBody(uid())), 404, 'not_found');
    await expectRestError(await postSigned(`${custom.url}/PassOnPendingMessage`, restBody(uid())), 404, 'not_found');
    await expectTwirpError(await postSigned(`${custom.url}/rpc/${service}/Nope`, twirpJsonBody(uid())), 404, 'bad_route');
    // /twirp is not the Twirp prefix on this server: the REST not_found applies
    await expectRestError(await postSigned(`${custom.url}/twirp/${service}/PassOnPendingMessage`, twirpJsonBody(uid())), 404, 'not_found');
  });
});

// ---------------------------------------------------------------------------------------------

describe('inline timing, deadline and fallback (dry run)', () => {
  let server: RunningServer;
  const deadlines = new Map<string, { deadlineMinusArrival: number; abortedAt?: number; remainingAtStart: number }>();
  beforeAll(async () => {
    server = await startHooksServer({ timeoutMs: 400 }, (hooks) =>
      hooks.on('PassOnPendingMessage', async (event, ctx) => {
        const info: { deadlineMinusArrival: number; abortedAt?: number; remainingAtStart: number } = {
          deadlineMinusArrival: ctx.deadline - event.receivedAt,
          remainingAtStart: ctx.remainingMs(),
        };
        deadlines.set(event.message.id, info);
        ctx.signal.addEventListener('abort', () => (info.abortedAt = Date.now() - event.receivedAt));
        if (event.message.text === 'hang') await new Promise((r) => ctx.signal.addEventListener('abort', r));
        if (event.message.text === 'ignore-signal') await sleep(700);
        if (event.message.text === 'slow-200') await sleep(200);
        return decide.delete('handler');
      }),
    );
  });
  afterAll(() => server.close());
  const url = () => `${server.url}/PassOnPendingMessage`;

  it('handler deadline = timeoutMs − applyReserveMs (400 − 100 = 300 ms) after arrival', async () => {
    const id = uid();
    expect((await postSigned(url(), restBody(id))).status).toBe(200);
    const info = deadlines.get(id)!;
    expect(info.deadlineMinusArrival).toBeGreaterThan(285);
    expect(info.deadlineMinusArrival).toBeLessThan(315);
  });

  it('timeout → {"action": fallback, "reason": "timeout", "timed_out": true}, answered before timeoutMs, signal aborted at the deadline', async () => {
    const id = uid();
    const started = performance.now();
    const response = await postSigned(url(), restBody(id, 'hang'));
    const elapsed = performance.now() - started;
    expect(await response.json()).toStrictEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    expect(elapsed).toBeLessThan(400);
    expect(elapsed).toBeGreaterThan(280);
    const info = deadlines.get(id)!;
    expect(info.abortedAt).toBeGreaterThan(280);
    expect(info.abortedAt).toBeLessThan(330);
  });

  it('a handler that ignores its signal still gets the fallback in time', async () => {
    const started = performance.now();
    const response = await postSigned(url(), restBody(uid(), 'ignore-signal'));
    expect(performance.now() - started).toBeLessThan(400);
    expect(await response.json()).toStrictEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
  });

  it('a handler finishing within its deadline is answered with its decision', async () => {
    expect(await (await postSigned(url(), restBody(uid(), 'slow-200'))).json()).toStrictEqual({ action: 'delete', reason: 'handler', timed_out: false });
  });

  it('Twirp timeout answer: ACTION_KEEP_PENDING, reason timeout, timed_out true', async () => {
    const response = await postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, twirpJsonBody(uid(), 'hang'));
    expect(await response.json()).toStrictEqual({ action: 'ACTION_KEEP_PENDING', reason: 'timeout', timed_out: true, accepted: false });
  });

  it('the clock starts when the request arrives (a slow body eats the handler budget)', async () => {
    const id = uid();
    const body = restBody(id);
    const head = headWith('/PassOnPendingMessage', ['Content-Type: application/json', `X-Signature: ${streamSignature(appSecret, body)}`], Buffer.byteLength(body));
    const answer = await rawHttp(portOf(server.url), head, body, { bodyDelayMs: 200 });
    expect(answer.status).toBe(200);
    const info = deadlines.get(id)!;
    expect(info.remainingAtStart).toBeLessThan(120);
  });
});

describe('timeoutMs = answerWithinMs boundary, ack-first answers (dry run)', () => {
  it('timeoutMs = 5000 (= answerWithinMs) is inline; 5001 is ack-first with exactly {"accepted": true}', async () => {
    const reg = (hooks: PendingHooks) => hooks.on('PassOnPendingMessage', () => decide.delete('x'));
    const inline = await startHooksServer({ timeoutMs: 5000 }, reg);
    const ack = await startHooksServer({ timeoutMs: 5001 }, reg);
    const tuned = await startHooksServer({ timeoutMs: 1000, answerWithinMs: 999 }, reg);
    try {
      expect(await (await postSigned(`${inline.url}/PassOnPendingMessage`, restBody(uid()))).json()).toStrictEqual({ action: 'delete', reason: 'x', timed_out: false });
      expect(await (await postSigned(`${ack.url}/PassOnPendingMessage`, restBody(uid()))).text()).toBe('{"accepted":true}');
      expect(await (await postSigned(`${tuned.url}/PassOnPendingMessage`, restBody(uid()))).json()).toStrictEqual({ accepted: true });
      const tw = await postSigned(`${ack.url}${twirpPath('PassOnPendingMessage')}`, twirpJsonBody(uid()));
      expect(await tw.json()).toStrictEqual({ action: 'ACTION_UNSPECIFIED', reason: '', timed_out: false, accepted: true });
      const pbAnswer = await postSigned(`${ack.url}${twirpPath('PassOnPendingMessage')}`, protoRequest(uid()), { contentType: 'application/protobuf' });
      const decoded = fromBinary(PendingMessageResponseSchema, new Uint8Array(await pbAnswer.arrayBuffer()));
      expect(decoded.accepted).toBe(true);
      expect(decoded.action).toBe(Action.UNSPECIFIED);
      expect(decoded.reason).toBe('');
      expect(decoded.timedOut).toBe(false);
      // Deleted answers stay {"ok": true} in ack-first timing
      expect(await (await postSigned(`${ack.url}/DeletedPendingMessage`, restBody(uid()))).text()).toBe('{"ok":true}');
    } finally {
      await Promise.all([inline.close(), ack.close(), tuned.close()]);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('decisions applied through the (mock) Stream API', () => {
  let mock: MockStreamApi;
  let server: RunningServer;
  let ackServer: RunningServer;
  let commitFallback: RunningServer;
  const counts = new Map<string, number>();
  const handler = (hooks: PendingHooks) =>
    hooks.on('PassOnPendingMessage', async (event, ctx) => {
      counts.set(event.message.id, (counts.get(event.message.id) ?? 0) + 1);
      const text = event.message.text ?? '';
      if (text === 'delete') return decide.delete('spam');
      if (text === 'keep') return decide.keepPending('human');
      if (text === 'hang') await new Promise((r) => ctx.signal.addEventListener('abort', r));
      if (text === 'late-delete') {
        await sleep(500);
        return decide.delete('late');
      }
      if (text === 'slow-150') await sleep(150);
      return decide.commit('ok');
    });
  beforeAll(async () => {
    mock = await createMockStreamApi({ apps: [{ apiKey: appKey, secret: appSecret }] });
    server = await startHooksServer({ timeoutMs: 400, api: { baseUrl: mock.url } }, handler);
    ackServer = await startHooksServer({ timeoutMs: 400, answer: 'ack-first', fallback: 'delete', api: { baseUrl: mock.url } }, handler);
    commitFallback = await startHooksServer({ timeoutMs: 400, fallback: 'commit', api: { baseUrl: mock.url } }, handler);
  });
  afterAll(async () => {
    await Promise.all([server.close(), ackServer.close(), commitFallback.close()]);
    await mock.close();
  });
  const url = () => `${server.url}/PassOnPendingMessage`;
  const callsFor = (id: string, action?: string) => mock.calls.filter((c) => c.messageId === id && (action === undefined || c.action === action));

  it('commit → POST /messages/{id}/commit once; delete → hard delete once; keep_pending → no call', async () => {
    const [a, b, c] = [uid(), uid(), uid()];
    for (const id of [a, b, c]) mock.addPendingMessage({ id });
    expect(await (await postSigned(url(), restBody(a, 'commit'))).json()).toStrictEqual({ action: 'commit', reason: 'ok', timed_out: false });
    expect(mock.stateOf(a)).toBe('committed');
    expect(await (await postSigned(url(), restBody(b, 'delete'))).json()).toStrictEqual({ action: 'delete', reason: 'spam', timed_out: false });
    expect(mock.stateOf(b)).toBe('deleted');
    expect(await (await postSigned(url(), restBody(c, 'keep'))).json()).toStrictEqual({ action: 'keep_pending', reason: 'human', timed_out: false });
    expect(mock.stateOf(c)).toBe('pending');
    expect(callsFor(a)).toHaveLength(1);
    expect(callsFor(b)).toHaveLength(1);
    expect(callsFor(c)).toHaveLength(0);
  });

  it('transient failures (500, 429, network error) are retried within the budget', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    mock.injectFaults({ action: 'commit', status: 500, count: 1 });
    mock.injectFaults({ action: 'commit', status: 429, count: 1 });
    mock.injectFaults({ action: 'commit', networkError: true, count: 1 });
    const started = performance.now();
    const response = await postSigned(url(), restBody(id, 'commit'));
    expect(performance.now() - started).toBeLessThan(400);
    expect(response.status).toBe(200);
    expect(mock.stateOf(id)).toBe('committed');
    expect(callsFor(id, 'commit')).toHaveLength(4);
  });

  it('404 on hard delete counts as done and is not retried', async () => {
    const id = uid(); // never added: the mock answers 404
    const response = await postSigned(url(), restBody(id, 'delete'));
    expect(response.status).toBe(200);
    expect(await response.json()).toStrictEqual({ action: 'delete', reason: 'spam', timed_out: false });
    await sleep(50);
    expect(callsFor(id, 'delete')).toHaveLength(1);
    expect(callsFor(id, 'delete')[0]!.status).toBe(404);
  });

  it('"not pending" on commit counts as done and is not retried', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    expect((await postSigned(url(), restBody(id, 'commit'), { webhookId: `a-${id}` })).status).toBe(200);
    const response = await postSigned(url(), restBody(id, 'commit'), { webhookId: `b-${id}` });
    expect(response.status).toBe(200);
    expect(await response.json()).toStrictEqual({ action: 'commit', reason: 'ok', timed_out: false });
    await sleep(50);
    const commits = callsFor(id, 'commit');
    expect(commits).toHaveLength(2);
    expect(commits[1]!.status).toBe(400);
    expect(mock.commitCount(id)).toBe(1);
  });

  it('API failing to the end of the budget → 503 decision_not_applied before timeoutMs; the retry re-applies without rerunning the handler', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const withdraw = mock.injectFaults({ action: 'commit', status: 503, count: Infinity });
    const started = performance.now();
    const first = await postSigned(url(), restBody(id, 'commit'), { webhookId: `w-${id}`, attempt: 1 });
    const elapsed = performance.now() - started;
    withdraw();
    await expectRestError(first, 503, 'decision_not_applied');
    expect(elapsed).toBeLessThan(420);
    expect(callsFor(id, 'commit').length).toBeGreaterThan(1);
    expect(mock.stateOf(id)).toBe('pending');
    const retry = await postSigned(url(), restBody(id, 'commit'), { webhookId: `w-${id}`, attempt: 2 });
    expect(retry.status).toBe(200);
    expect(await retry.json()).toStrictEqual({ action: 'commit', reason: 'ok', timed_out: false });
    expect(mock.stateOf(id)).toBe('committed');
    expect(counts.get(id)).toBe(1);
    const third = await postSigned(url(), restBody(id, 'commit'), { webhookId: `w-${id}`, attempt: 3 });
    expect(await third.json()).toStrictEqual({ action: 'commit', reason: 'ok', timed_out: false });
    expect(counts.get(id)).toBe(1);
  });

  it('Twirp: a decision not applied → unavailable 503; the retry re-applies it', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const withdraw = mock.injectFaults({ action: 'delete', status: 500, count: Infinity });
    const twUrl = `${server.url}${twirpPath('PassOnPendingMessage')}`;
    const first = await postSigned(twUrl, twirpJsonBody(id, 'delete'), { webhookId: `w-${id}` });
    withdraw();
    await expectTwirpError(first, 503, 'unavailable');
    const retry = await postSigned(twUrl, twirpJsonBody(id, 'delete'), { webhookId: `w-${id}`, attempt: 2 });
    expect(await retry.json()).toStrictEqual({ action: 'ACTION_DELETE', reason: 'spam', timed_out: false, accepted: false });
    expect(mock.stateOf(id)).toBe('deleted');
    expect(counts.get(id)).toBe(1);
  });

  it('a slow API is cut at the budget: the 503 still leaves before timeoutMs', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const withdraw = mock.injectFaults({ action: 'commit', delayMs: 1500, status: 500, count: 1 });
    const started = performance.now();
    const response = await postSigned(url(), restBody(id, 'commit'));
    const elapsed = performance.now() - started;
    withdraw();
    await expectRestError(response, 503, 'decision_not_applied');
    expect(elapsed).toBeLessThan(420);
  });

  it('timeout with fallback commit: the fallback is applied through the API, answered in time', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const started = performance.now();
    const response = await postSigned(`${commitFallback.url}/PassOnPendingMessage`, restBody(id, 'hang'));
    expect(performance.now() - started).toBeLessThan(400);
    expect(await response.json()).toStrictEqual({ action: 'commit', reason: 'timeout', timed_out: true });
    expect(mock.stateOf(id)).toBe('committed');
  });

  it('a late handler result is never applied (inline)', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const response = await postSigned(url(), restBody(id, 'late-delete'));
    expect(await response.json()).toStrictEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    await sleep(350);
    expect(callsFor(id)).toHaveLength(0);
    expect(mock.stateOf(id)).toBe('pending');
  });

  it('ack-first: answers {"accepted": true} at once, then applies the decision before the budget ends', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const started = performance.now();
    const response = await postSigned(`${ackServer.url}/PassOnPendingMessage`, restBody(id, 'slow-150'));
    expect(performance.now() - started).toBeLessThan(120);
    expect(await response.text()).toBe('{"accepted":true}');
    expect(mock.stateOf(id)).toBe('pending');
    await mock.waitForState(id, 'committed', 400);
    const call = callsFor(id, 'commit')[0]!;
    expect(call.at - (Date.now() - (performance.now() - started))).toBeLessThan(400);
  });

  it('ack-first: a timed-out handler gets the fallback applied through the API before the budget ends; its late result is dropped', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const started = Date.now();
    const response = await postSigned(`${ackServer.url}/PassOnPendingMessage`, restBody(id, 'late-delete'));
    expect(await response.json()).toStrictEqual({ accepted: true });
    await mock.waitForState(id, 'deleted', 600);
    expect(Date.now() - started).toBeLessThan(450);
    await sleep(300);
    expect(callsFor(id)).toHaveLength(1);
  });

  it('ack-first: a retry while the decision is in flight is accepted and does not rerun the handler', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const wh = `w-${id}`;
    const [a, b] = await Promise.all([
      postSigned(`${ackServer.url}/PassOnPendingMessage`, restBody(id, 'slow-150'), { webhookId: wh }),
      postSigned(`${ackServer.url}/PassOnPendingMessage`, restBody(id, 'slow-150'), { webhookId: wh, attempt: 2 }),
    ]);
    expect(await a.json()).toStrictEqual({ accepted: true });
    expect(await b.json()).toStrictEqual({ accepted: true });
    await mock.waitForState(id, 'committed', 500);
    const c = await postSigned(`${ackServer.url}/PassOnPendingMessage`, restBody(id, 'slow-150'), { webhookId: wh, attempt: 3 });
    expect(await c.json()).toStrictEqual({ accepted: true });
    expect(counts.get(id)).toBe(1);
    expect(callsFor(id, 'commit')).toHaveLength(1);
  });

  it('dedupe: concurrent duplicates share one decision; later ones get the remembered answer', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const wh = `w-${id}`;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => postSigned(url(), restBody(id, 'slow-150'), { webhookId: wh, attempt: i + 1 }).then((r) => r.text())));
    expect(new Set(answers)).toEqual(new Set(['{"action":"commit","reason":"ok","timed_out":false}']));
    const later = await postSigned(url(), restBody(id, 'slow-150'), { webhookId: wh, attempt: 9 });
    expect(await later.text()).toBe('{"action":"commit","reason":"ok","timed_out":false}');
    expect(counts.get(id)).toBe(1);
    expect(callsFor(id)).toHaveLength(1);
  });

  it('dedupe: a remembered timed-out decision is answered again without rerunning the handler', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    const wh = `w-${id}`;
    const first = await postSigned(url(), restBody(id, 'hang'), { webhookId: wh });
    expect(await first.json()).toStrictEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    const second = await postSigned(url(), restBody(id, 'hang'), { webhookId: wh, attempt: 2 });
    expect(await second.json()).toStrictEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    expect(counts.get(id)).toBe(1);
  });

  it('no X-Webhook-Id: every call runs the handler', async () => {
    const id = uid();
    mock.addPendingMessage({ id });
    await postSigned(url(), restBody(id, 'keep'));
    await postSigned(url(), restBody(id, 'keep'));
    expect(counts.get(id)).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------

describe('configurable JSON depth', () => {
  it('maxJsonDepth 3: depth 3 passes, 4 fails (REST malformed_json, Twirp malformed)', async () => {
    const server = await startHooksServer({ maxJsonDepth: 3 }, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
    try {
      const d3 = `{"message":{"id":"${uid()}","user":{"id":"u"}}}`;
      const d4 = `{"message":{"id":"x","user":{"id":"u","x":[]}}}`;
      expect((await postSigned(`${server.url}/PassOnPendingMessage`, d3)).status).toBe(200);
      await expectRestError(await postSigned(`${server.url}/PassOnPendingMessage`, d4), 400, 'malformed_json');
      expect((await postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, d3)).status).toBe(200);
      await expectTwirpError(await postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, d4), 400, 'malformed');
    } finally {
      await server.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('hostile inputs', () => {
  let server: RunningServer;
  const seen: PendingMessageEvent[] = [];
  beforeAll(async () => {
    server = await startHooksServer({}, register(seen, new Map()));
  });
  afterAll(() => server.close());
  const url = () => `${server.url}/PassOnPendingMessage`;

  it('invalid UTF-8 in a REST JSON string is answered (no crash, no 5xx); Twirp JSON is malformed', async () => {
    const id = uid();
    const body = Buffer.concat([Buffer.from(`{"message":{"id":"${id}","text":"`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}}')]);
    const response = await postSigned(url(), body);
    expect(response.status).toBeLessThan(500);
    expect([200, 400]).toContain(response.status);
    await expectTwirpError(await postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, body), 400, 'malformed');
    expect((await postSigned(url(), restBody(uid()))).status).toBe(200);
  });

  it('huge headers are refused by HTTP (431) and the server keeps serving', async () => {
    const answer = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: application/json', `X-Junk: ${'a'.repeat(100_000)}`], 2), '{}');
    expect([400, 431]).toContain(answer.status);
    expect((await postSigned(url(), restBody(uid()))).status).toBe(200);
  });

  it('200 concurrent signed requests (REST and Twirp) all answered correctly', async () => {
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 2 === 0
          ? postSigned(url(), restBody(uid(), i % 4 === 0 ? 'bad' : 'hi')).then(async (r) => [r.status, await r.json()] as const)
          : postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, protoRequest(uid()), { contentType: 'application/protobuf' }).then(async (r) => [r.status, (await r.arrayBuffer()).byteLength] as const),
      ),
    );
    for (const [status] of answers) expect(status).toBe(200);
    expect(answers.filter(([, b], i) => i % 4 === 0 && (b as { action: string }).action === 'delete')).toHaveLength(50);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('NaN / negative / huge / empty X-Webhook-Attempt never fails the request', async () => {
    for (const attempt of ['NaN', '-5', '0', '99999999999999999999', '', 'abc', '1.5', ' 2 ']) {
      const response = await postSigned(url(), restBody(uid()), { headers: { 'x-webhook-attempt': attempt } });
      expect({ attempt, status: response.status }).toEqual({ attempt, status: 200 });
    }
  });

  it('X-Webhook-Attempt that is not a positive integer reads as attempt 1 (NaN, empty, 0, garbage)', async () => {
    for (const attempt of ['NaN', '', 'abc', '0']) {
      const id = uid();
      await postSigned(url(), restBody(id), { headers: { 'x-webhook-attempt': attempt } });
      expect({ attempt, seen: seen.find((e) => e.message.id === id)!.attempt }).toEqual({ attempt, seen: 1 });
    }
  });

  it('duplicate X-Signature headers (two values) are refused with 401, not accepted or crashed', async () => {
    const body = restBody(uid());
    const sig = streamSignature(appSecret, body);
    const answer = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: application/json', `X-Signature: ${sig}`, `X-Signature: ${sig}`], Buffer.byteLength(body)), body);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_signature' });
  });

  it('duplicate Content-Type: node keeps the first; text/plain first → 415', async () => {
    const body = restBody(uid());
    const sig = streamSignature(appSecret, body);
    const answer = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: text/plain', 'Content-Type: application/json', `X-Signature: ${sig}`], Buffer.byteLength(body)), body);
    expect(answer.status).toBe(415);
    const ok = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: application/json', 'Content-Type: text/plain', `X-Signature: ${sig}`], Buffer.byteLength(body)), body);
    expect(ok.status).toBe(200);
  });

  it('duplicate X-Api-Key with several values is an unknown key (401)', async () => {
    const body = restBody(uid());
    const answer = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: application/json', `X-Api-Key: ${appKey}`, 'X-Api-Key: evil', `X-Signature: ${streamSignature(appSecret, body)}`], Buffer.byteLength(body)), body);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'unknown_api_key' });
  });

  it('X-Signature with surrounding whitespace (OWS) is accepted; with inner spaces refused', async () => {
    const body = restBody(uid());
    const sig = streamSignature(appSecret, body);
    const answer = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: application/json', `X-Signature:    ${sig}   `], Buffer.byteLength(body)), body);
    expect(answer.status).toBe(200);
    const spaced = await rawHttp(portOf(server.url), headWith('/PassOnPendingMessage', ['Content-Type: application/json', `X-Signature: ${sig.slice(0, 10)} ${sig.slice(10)}`], Buffer.byteLength(body)), body);
    expect(spaced.status).toBe(401);
  });

  it('__proto__ / constructor keys do not pollute prototypes or crash', async () => {
    const id = uid();
    const body = `{"message":{"id":"${id}","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"user":{"id":"u","__proto__":{"x":1}}},"__proto__":{"polluted":true}}`;
    const response = await postSigned(url(), body);
    expect(response.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const tw = await postSigned(`${server.url}${twirpPath('PassOnPendingMessage')}`, `{"message":{"id":"${uid()}","custom":{"__proto__":{"polluted":true}}}}`);
    expect(tw.status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a gzip body that is not valid gzip (signed over the garbage) → 400 malformed_json, not 500', async () => {
    const garbage = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03]);
    await expectRestError(await postSigned(url(), garbage), 400, 'malformed_json');
    const truncated = gzipSync(restBody(uid())).subarray(0, 20);
    await expectRestError(await postSigned(url(), truncated, { headers: { 'content-encoding': 'gzip' } }), 400, 'malformed_json');
  });

  it('Content-Encoding: identity is accepted; an unsupported encoding is refused without a 5xx', async () => {
    expect((await postSigned(url(), restBody(uid()), { headers: { 'content-encoding': 'identity' } })).status).toBe(200);
    const br = await postSigned(url(), restBody(uid()), { headers: { 'content-encoding': 'br' } });
    expect(br.status).toBeGreaterThanOrEqual(400);
    expect(br.status).toBeLessThan(500);
  });

  it('keep-alive: several callbacks reuse one connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const reused: boolean[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const body = restBody(uid());
        await new Promise<void>((resolve, reject) => {
          const req = httpRequest(url(), { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-signature': streamSignature(appSecret, body) } });
          req.on('response', (res) => {
            reused.push(req.reusedSocket);
            expect(res.statusCode).toBe(200);
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
          req.end(body);
        });
      }
    } finally {
      agent.destroy();
    }
    expect(reused).toEqual([false, true, true]);
  });

  it('an error answer keeps the connection usable (keep-alive after 401 / 413)', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const statuses: number[] = [];
    try {
      for (const body of ['{"x":1}', jsonOfSize(MiB + 1), restBody(uid())]) {
        await new Promise<void>((resolve, reject) => {
          const headers: Record<string, string> = { 'content-type': 'application/json', 'x-signature': body.length > 100 && body.length < 1000 ? streamSignature(appSecret, body) : 'bad' };
          const req = httpRequest(url(), { method: 'POST', agent, headers });
          req.on('response', (res) => {
            statuses.push(res.statusCode ?? 0);
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
          req.end(body);
        });
      }
    } finally {
      agent.destroy();
    }
    expect(statuses).toEqual([401, 413, 200]);
  });

  it('exotic HTTP methods on a Twirp route are bad_route 404 in Twirp JSON', async () => {
    const answer = await rawHttp(portOf(server.url), `PROPFIND ${twirpPath('PassOnPendingMessage')} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'bad_route' });
  });

  it('verifySignatures { twirp: false } turns the check off for Twirp only', async () => {
    const s2 = await startHooksServer({ verifySignatures: { twirp: false } }, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
    try {
      expect((await postSigned(`${s2.url}${twirpPath('PassOnPendingMessage')}`, twirpJsonBody(uid()), { secret: null })).status).toBe(200);
      await expectRestError(await postSigned(`${s2.url}/PassOnPendingMessage`, restBody(uid()), { secret: null }), 401, 'invalid_signature');
    } finally {
      await s2.close();
    }
  });

  it('reasons with quotes and non-ASCII are valid JSON in REST and Twirp answers', async () => {
    const s3 = await startHooksServer({}, (hooks) => hooks.on('PassOnPendingMessage', () => decide.delete('a "q" ü \\ \n')));
    try {
      expect(await (await postSigned(`${s3.url}/PassOnPendingMessage`, restBody(uid()))).json()).toStrictEqual({ action: 'delete', reason: 'a "q" ü \\ \n', timed_out: false });
      expect(await (await postSigned(`${s3.url}${twirpPath('PassOnPendingMessage')}`, twirpJsonBody(uid()))).json()).toStrictEqual({ action: 'ACTION_DELETE', reason: 'a "q" ü \\ \n', timed_out: false, accepted: false });
    } finally {
      await s3.close();
    }
  });

  it('query strings do not change routing; paths are case-sensitive', async () => {
    expect((await postSigned(`${url()}?x=1&y=2`, restBody(uid()))).status).toBe(200);
    await expectRestError(await postSigned(`${server.url}/passonpendingmessage`, restBody(uid())), 404, 'not_found');
  });
});

describe('deviations found in review, fixed', () => {
  const hooksFor = (options: Parameters<typeof startHooksServer>[0] = {}) =>
    startHooksServer(options, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit('ok')));

  it('unknown paths answer the contract even with broken, empty or huge bodies (REST 404, Twirp bad_route)', async () => {
    const s = await hooksFor();
    try {
      for (const body of ['{bad', '', 'x'.repeat(1024 * 1024 + 1)]) {
        const rest = await fetch(`${s.url}/Nope`, { method: 'POST', headers: { 'content-type': body.length > 100 ? 'text/plain' : 'application/json' }, body });
        expect(rest.status).toBe(404);
        expect(((await rest.json()) as { error: string }).error).toBe('not_found');
        const twirp = await fetch(`${s.url}/twirp/x.v1.S/M`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        expect(twirp.status).toBe(404);
        expect(((await twirp.json()) as { code: string }).code).toBe('bad_route');
      }
    } finally {
      await s.close();
    }
  });

  it('Twirp errors and answers carry exactly Content-Type: application/json', async () => {
    const s = await hooksFor();
    try {
      const error = await fetch(`${s.url}/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(error.status).toBe(401);
      expect(error.headers.get('content-type')).toBe('application/json');
      const body = JSON.stringify({ message: { id: 'ct' } });
      const answer = await fetch(`${s.url}/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': streamSignature(appSecret, body), 'x-api-key': appKey }, body });
      expect(answer.headers.get('content-type')).toBe('application/json');
      expect(await answer.json()).toMatchObject({ action: 'ACTION_COMMIT', reason: 'ok' });
    } finally {
      await s.close();
    }
  });

  it("the handler's deadline is timeoutMs − applyReserveMs even when the reserve exceeds half the budget", async () => {
    let offset = 0;
    const s = await startHooksServer({ timeoutMs: 300, applyReserveMs: 200 }, (hooks) =>
      hooks.on('PassOnPendingMessage', (event, ctx) => {
        offset = ctx.deadline - event.receivedAt;
        return decide.commit();
      }),
    );
    try {
      await postSigned(`${s.url}/PassOnPendingMessage`, pendingBody());
      expect(offset).toBeGreaterThan(90);
      expect(offset).toBeLessThan(110);
    } finally {
      await s.close();
    }
  });

  it('every other method on a callback path is 405 (REST) or bad_route (Twirp)', async () => {
    const s = await hooksFor();
    try {
      const call = (path: string, method: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest(`${s.url}${path}`, { method }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', reject);
          req.end();
        });
      for (const method of ['PROPFIND', 'TRACE', 'SEARCH', 'QUERY']) {
        const rest = await call('/PassOnPendingMessage', method);
        expect(rest.status, method).toBe(405);
        const twirp = await call('/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage', method);
        expect(twirp.status, method).toBe(404);
        expect((JSON.parse(twirp.body) as { code: string }).code, method).toBe('bad_route');
      }
    } finally {
      await s.close();
    }
  });

  it('X-Webhook-Attempt below 1 counts as 1', async () => {
    let attempt = 0;
    const s = await startHooksServer({}, (hooks) => hooks.on('PassOnPendingMessage', (e) => ((attempt = e.attempt), decide.commit())));
    try {
      await postSigned(`${s.url}/PassOnPendingMessage`, pendingBody(), { headers: { 'x-webhook-attempt': '-5' } });
      expect(attempt).toBe(1);
    } finally {
      await s.close();
    }
  });
});
