import { createServer as createHttpServer } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Action, PendingMessageRequestSchema, PendingMessageResponseSchema } from '../src/gen/pendingmessage/v1/pending_message_pb.js';
import { createNodeListener, createPendingHooks, createServer, decide, sign } from '../src/index.js';
import { appKey, appSecret, pendingBody, postSigned } from './support/servers.js';

/** Writes raw bytes on a socket and resolves with whatever the server answers before closing. */
function rawExchange(port: number, payload: string, { endAfterWrite = true, waitMs = 3000 } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => (socket.destroy(), resolve(answer)), waitMs);
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => (clearTimeout(timer), resolve(answer)));
    socket.on('error', () => {});
    socket.write(payload);
    if (endAfterWrite) socket.end();
  });
}

describe('hostile connections never crash or hang the server', () => {
  const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }) });
  hooks.on('PassOnPendingMessage', () => decide.commit());
  let url = '';
  let port = 0;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const app = await createServer(hooks, { requestTimeoutMs: 1000 });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    close = () => app.close();
  });
  afterAll(() => close());

  it('a body shorter than its Content-Length, then a hang-up', async () => {
    await rawExchange(port, 'POST /PassOnPendingMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"message":');
    expect((await postSigned(`${url}/PassOnPendingMessage`, pendingBody())).status).toBe(200);
  });

  it('a client that stops sending mid-body gets 408 after requestTimeout, not a hang', async () => {
    const started = performance.now();
    const answer = await rawExchange(port, 'POST /PassOnPendingMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"mess', { endAfterWrite: false, waitMs: 5000 });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(performance.now() - started).toBeLessThan(4500);
  });

  it('garbage that is not HTTP gets 400', async () => {
    expect(await rawExchange(port, '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 not http at all\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
  });

  it('a malformed chunked body is refused, and the server keeps serving', async () => {
    const answer = await rawExchange(port, 'POST /PassOnPendingMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nnope\r\n0\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect((await postSigned(`${url}/PassOnPendingMessage`, pendingBody())).status).toBe(200);
  });

  it('a wrong Content-Length (longer body) does not smuggle a second request past the checks', async () => {
    const body = pendingBody();
    const answer = await rawExchange(port, `POST /PassOnPendingMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n${body}`);
    expect(answer).toMatch(/^HTTP\/1\.1 40[01]/);
  });
});

describe('createServer answers callbacks in front of fastify (fast path)', () => {
  const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }), bodyLimit: 4096 });
  hooks.on('PassOnPendingMessage', (e) => (e.message.text === 'bad' ? decide.delete('bad') : decide.commit()));
  afterAll(() => hooks.close());

  it('answers a too-large declared body with 413 before reading it, and closes the connection', async () => {
    const app = await createServer(hooks);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    try {
      // Only the headers are sent: the answer must not wait for the 10 MB it announces.
      const answer = await rawExchange(port, 'POST /PassOnPendingMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n', { endAfterWrite: false, waitMs: 2000 });
      expect(answer).toMatch(/^HTTP\/1\.1 413/);
      expect(answer.toLowerCase()).toContain('connection: close');
      expect(answer).toContain('"error":"payload_too_large"');
    } finally {
      await app.close();
    }
  });

  it('answers a chunked body with 413 as soon as it passes the limit', async () => {
    const app = await createServer(hooks);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    try {
      const chunk = 'x'.repeat(3000);
      const twoChunks = `${(3000).toString(16)}\r\n${chunk}\r\n`.repeat(2);
      const answer = await rawExchange(port, `POST /PassOnPendingMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${twoChunks}`, { endAfterWrite: false, waitMs: 2000 });
      expect(answer).toMatch(/^HTTP\/1\.1 413/);
    } finally {
      await app.close();
    }
  });

  it('once closing, the answer in flight goes out with connection: close and the connection ends, so close() finishes', async () => {
    const slowHooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }) });
    slowHooks.on('PassOnPendingMessage', async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return decide.commit();
    });
    const app = await createServer(slowHooks);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const request = (body: string) =>
      `POST /PassOnPendingMessage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Api-Key: ${appKey}\r\nX-Signature: ${sign(appSecret, body)}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    try {
      socket.write(request(pendingBody()));
      await new Promise((resolve) => setTimeout(resolve, 50)); // the first callback is being decided
      const started = performance.now();
      const closed = app.close();
      socket.write(request(pendingBody())); // pipelined on the busy connection, read after close began
      await closed;
      expect(performance.now() - started).toBeLessThan(3000);
      // The server ends the connection after the 503; what it wrote is read by then.
      await new Promise((resolve) => (socket.closed ? resolve(undefined) : (socket.once('close', resolve), setTimeout(resolve, 2000))));
      expect(socket.readableEnded || socket.destroyed).toBe(true);
      const answers = received.split(/(?=HTTP\/1\.1 )/);
      expect(answers[0]).toMatch(/^HTTP\/1\.1 200/); // the decision in progress is answered
      expect(answers[0]).toContain('"action":"commit"');
      expect(answers[0]!.toLowerCase()).toContain('connection: close');
      // The pipelined request is left unanswered, as HTTP/1.1 allows after `connection: close`:
      // the client retries it on a new connection (which a closing server no longer accepts).
      expect(answers).toHaveLength(1);
    } finally {
      socket.destroy();
    }
  });

  it('leaves every other path to fastify, and fastPath: false routes callbacks through fastify too', async () => {
    for (const fastPath of [true, false]) {
      const app = await createServer(hooks, { fastPath });
      const seen: string[] = [];
      app.addHook('onRequest', async (request) => void seen.push(request.url));
      app.get('/healthz', async () => ({ ok: true }));
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      try {
        expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
        expect(await (await postSigned(`${url}/PassOnPendingMessage?x=1`, pendingBody({ text: 'bad' }))).json()).toEqual({ action: 'delete', reason: 'bad', timed_out: false });
        const unknown = await postSigned(`${url}/Elsewhere`, pendingBody());
        expect(unknown.status).toBe(404);
        expect(seen).toEqual(fastPath ? ['/healthz', '/Elsewhere'] : ['/healthz', '/PassOnPendingMessage?x=1', '/Elsewhere']);
      } finally {
        await app.close();
      }
    }
  });
});

describe('answers written by the node listener', () => {
  it('carry exactly one Content-Length equal to the body bytes, never chunked: shared answers, errors, non-ASCII reasons, Connect', async () => {
    const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }), connect: {} });
    hooks.on('PassOnPendingMessage', (e) => (e.message.text === 'commit' ? decide.commit() : decide.delete(`blocked ✋ ${e.message.text}`)));
    const app = await createServer(hooks);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const { request } = await import('node:http');
    const exchange = (path: string, body: string, headers: Record<string, string>, encoding: BufferEncoding = 'utf8') =>
      new Promise<{ status: number; raw: string[]; body: Buffer }>((resolve, reject) => {
        const bytes = Buffer.from(body, encoding);
        const req = request(`${url}${path}`, { method: 'POST', headers: { 'x-api-key': appKey, 'x-signature': sign(appSecret, bytes), ...headers } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode!, raw: res.rawHeaders, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end(bytes);
      });
    const check = (answer: { raw: string[]; body: Buffer }) => {
      const names = answer.raw.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
      expect(names.filter((name) => name === 'content-length')).toHaveLength(1);
      expect(names).not.toContain('transfer-encoding');
      expect(Number(answer.raw[answer.raw.findIndex((name) => name.toLowerCase() === 'content-length') + 1])).toBe(answer.body.length);
    };
    try {
      const json = { 'content-type': 'application/json' };
      for (const text of ['commit', 'commit', 'ünïcode', 'ünïcode']) {
        const answer = await exchange('/PassOnPendingMessage', pendingBody({ text }), json);
        expect(answer.status).toBe(200);
        check(answer);
        expect(JSON.parse(answer.body.toString())).toMatchObject({ action: text === 'commit' ? 'commit' : 'delete' });
      }
      const refused = await exchange('/PassOnPendingMessage', '{"message":', json);
      expect(refused.status).toBe(400);
      check(refused);
      // Byte bodies (Twirp) go out as latin1 text: every byte must arrive as it was, non-ASCII included.
      const twirpPath = '/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage';
      const twirpJson = await exchange(twirpPath, JSON.stringify({ message: { id: 't1', text: 'ünïcode' } }), json);
      check(twirpJson);
      expect(JSON.parse(twirpJson.body.toString('utf8'))).toMatchObject({ action: 'ACTION_DELETE', reason: 'blocked ✋ ünïcode' });
      const request = create(PendingMessageRequestSchema, { message: { id: 't2', text: 'ünïcode 🙂' } });
      const twirpProto = await exchange(twirpPath, Buffer.from(toBinary(PendingMessageRequestSchema, request)).toString('latin1'), { 'content-type': 'application/protobuf' }, 'latin1');
      check(twirpProto);
      expect(fromBinary(PendingMessageResponseSchema, twirpProto.body)).toMatchObject({ action: Action.DELETE, reason: 'blocked ✋ ünïcode 🙂' });
      const connect = await exchange('/connect/pendingmessage.v1.PendingMessageService/PassOnPendingMessage', JSON.stringify({ message: { id: 'c1', text: 'commit' } }), json);
      expect(connect.status).toBe(200);
      check(connect);
      expect(JSON.parse(connect.body.toString())).toMatchObject({ action: 'ACTION_COMMIT' });
    } finally {
      await app.close();
    }
  });
});

describe('createNodeListener on plain node:http', () => {
  it('serves the same contract', async () => {
    const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }), bodyLimit: 4096 });
    hooks.on('PassOnPendingMessage', (e) => (e.message.text === 'bad' ? decide.delete('bad') : decide.commit()));
    const server = createHttpServer(createNodeListener(hooks));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await (await postSigned(`${base}/PassOnPendingMessage`, pendingBody({ text: 'bad' }))).json()).toEqual({ action: 'delete', reason: 'bad', timed_out: false });
      expect((await postSigned(`${base}/PassOnPendingMessage`, pendingBody(), { secret: 'x' })).status).toBe(401);
      expect((await postSigned(`${base}/PassOnPendingMessage`, pendingBody({ pad: 'x'.repeat(5000) }))).status).toBe(413);
      // Order of checks: an oversized text/plain request is a 415, an oversized unknown path a 404.
      expect((await postSigned(`${base}/PassOnPendingMessage`, 'x'.repeat(5000), { contentType: 'text/plain' })).status).toBe(415);
      expect((await postSigned(`${base}/Elsewhere`, 'x'.repeat(5000))).status).toBe(404);
      expect((await fetch(`${base}/PassOnPendingMessage`)).status).toBe(405);
      const twirp = await postSigned(`${base}/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage`, JSON.stringify({ message: { id: 'n1' } }));
      expect(await twirp.json()).toEqual({ action: 'ACTION_COMMIT', reason: '', timed_out: false, accepted: false });
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await hooks.close();
    }
  });
});
