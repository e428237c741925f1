import Fastify from 'fastify';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Agent, request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeListener, createPendingHooks, createServer, decide, pendingHooksPlugin, type PendingHooks } from '../../src/index.js';
import { readFileSync } from 'node:fs';
import { defaultMaxConnections, type CreateServerOptions } from '../../src/server/create-server.js';
import { chunk, firstBody, firstStatus, lastChunk, openRaw, requestHead } from '../support/raw-socket.js';
import { appKey, appSecret, pendingBody, postSigned, sleep } from '../support/servers.js';

const restPath = '/PassOnPendingMessage';
const twirpPath = '/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage';

function quietHooks(options: Parameters<typeof createPendingHooks>[0] = {}): PendingHooks {
  const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }), ...options });
  hooks.on('PassOnPendingMessage', () => decide.commit());
  return hooks;
}

async function listen(hooks: PendingHooks, options: CreateServerOptions = {}) {
  const app = await createServer(hooks, options);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { app, port, url: `http://127.0.0.1:${port}` };
}

describe('request bodies are read into one bounded buffer', () => {
  let server: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    server = await listen(quietHooks());
  });
  afterAll(() => server.app.close());

  it('refuses a body sent as thousands of 1-byte chunks with 413, early, and closes the connection', async () => {
    const raw = await openRaw(server.port);
    raw.socket.write(requestHead(restPath));
    // 1 MiB of 1-byte chunks would be a million 'data' events; the reader gives up after 256 small ones.
    const tiny = Buffer.concat(Array.from({ length: 4096 }, () => chunk('x')));
    raw.socket.write(tiny);
    expect(await raw.waitFor(/\r\n\r\n\{.*\}/s)).toBe(true);
    expect(firstStatus(raw.received())).toBe(413);
    expect(JSON.parse(firstBody(raw.received()))).toMatchObject({ error: 'payload_too_large', message: expect.stringMatching(/pieces/) });
    expect(raw.received().toLowerCase()).toContain('connection: close');
    raw.socket.end(lastChunk);
    expect(await raw.closed()).toBe(true);
    expect(raw.error()).toBeUndefined();
  });

  it('the fastify plugin reads bodies the same bounded way (tiny chunks refused, connection closed)', async () => {
    const app = Fastify();
    await app.register(pendingHooksPlugin, { hooks: quietHooks(), prefix: '/hooks' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const raw = await openRaw((app.server.address() as AddressInfo).port);
      raw.socket.write(requestHead(`/hooks${restPath}`));
      raw.socket.write(Buffer.concat(Array.from({ length: 4096 }, () => chunk('x'))));
      expect(await raw.waitFor(/\r\n\r\n\{.*\}/s)).toBe(true);
      expect(firstStatus(raw.received())).toBe(413);
      expect(JSON.parse(firstBody(raw.received()))).toMatchObject({ error: 'payload_too_large' });
      expect(raw.received().toLowerCase()).toContain('connection: close');
      expect(await raw.closed()).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('accepts a signed 1 MiB body sent in 1 KiB chunks (real senders write kilobytes at a time)', async () => {
    const padding = 'p'.repeat(1024 * 1024 - pendingBody().length - 200);
    const body = Buffer.from(pendingBody({ text: 'fine' }, { padding }));
    expect(body.length).toBeLessThanOrEqual(1024 * 1024);
    const raw = await openRaw(server.port);
    raw.socket.write(requestHead(restPath, { signatureOf: body }));
    for (let offset = 0; offset < body.length; offset += 1024) raw.socket.write(chunk(body.subarray(offset, offset + 1024)));
    raw.socket.write(lastChunk);
    expect(await raw.waitFor('"action":"commit"')).toBe(true);
    expect(firstStatus(raw.received())).toBe(200);
    raw.socket.destroy();
  });

  it('accepts a body of exactly the limit in one Content-Length write, and refuses one byte more', async () => {
    for (const [extra, status] of [
      [0, 200],
      [1, 413],
    ] as const) {
      const message = { id: `exact-${extra}` };
      const base = Buffer.byteLength(pendingBody(message, { padding: '' }));
      const body = pendingBody(message, { padding: 'q'.repeat(1024 * 1024 - base + extra) });
      expect(Buffer.byteLength(body)).toBe(1024 * 1024 + extra);
      const response = await postSigned(`${server.url}${restPath}`, body);
      expect(response.status).toBe(status);
    }
  });
});

describe('a refused client gets its answer, then the connection ends (no reset)', () => {
  let server: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    server = await listen(quietHooks());
  });
  afterAll(() => server.app.close());

  /** Streams 2 MiB in 64 KiB pieces with small pauses; resolves with what the client saw. */
  async function oversizeRun(path: string, declared: boolean, contentType: string) {
    const total = 2 * 1024 * 1024;
    const piece = Buffer.alloc(64 * 1024, 'a');
    const raw = await openRaw(server.port, { allowHalfOpen: true });
    await raw.send(requestHead(path, declared ? { length: total, contentType } : { contentType }));
    for (let sent = 0; sent < total; sent += piece.length) {
      if (!(await raw.send(declared ? piece : chunk(piece)))) break;
      await sleep(1); // a client on a real network: the answer arrives while it is still sending
    }
    if (!declared) await raw.send(lastChunk);
    raw.socket.end();
    await raw.closed();
    return { status: firstStatus(raw.received()), body: firstBody(raw.received()), error: raw.error()?.code };
  }

  for (const [name, path, contentType, status, code] of [
    ['REST', restPath, 'application/json', 413, 'payload_too_large'],
    ['Twirp', twirpPath, 'application/protobuf', 400, 'invalid_argument'],
  ] as const) {
    for (const declared of [true, false]) {
      it(`${name}, ${declared ? 'with' : 'without'} Content-Length: a 2 MiB upload reads its ${status} in 100 runs out of 100`, async () => {
        const outcomes: string[] = [];
        for (let batch = 0; batch < 10; batch++) {
          const runs = await Promise.all(Array.from({ length: 10 }, () => oversizeRun(path, declared, contentType)));
          for (const run of runs) {
            outcomes.push(run.status === status && run.error === undefined && run.body.includes(code) ? 'ok' : `status ${run.status} error ${run.error}`);
          }
        }
        expect(outcomes.filter((outcome) => outcome !== 'ok')).toEqual([]);
      }, 60_000);
    }
  }

  it('cuts off a client that never stops sending, at the byte bound', async () => {
    const raw = await openRaw(server.port, { allowHalfOpen: true });
    await raw.send(requestHead(restPath, { length: 1024 * 1024 * 1024 }));
    const piece = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    while (sent < 256 * 1024 * 1024 && (await raw.send(piece))) sent += piece.length;
    expect(await raw.closed()).toBe(true);
    expect(firstStatus(raw.received())).toBe(413);
    // Cut after 4 MiB were discarded (what the kernel's buffers held on top was sent too).
    expect(sent).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    expect(raw.error()?.code).toMatch(/ECONNRESET|EPIPE/);
  });

  it('cuts off a client that keeps trickling, at the time bound', async () => {
    const raw = await openRaw(server.port, { allowHalfOpen: true });
    await raw.send(requestHead(restPath, { length: 1024 * 1024 * 1024 }));
    const started = performance.now();
    let trickled = 0;
    while (performance.now() - started < 10_000 && (await raw.send(Buffer.alloc(1024, 'a')))) {
      trickled++;
      await sleep(50);
    }
    expect(firstStatus(raw.received())).toBe(413);
    // Default bound: 2 s after the answer, so some 40 writes of 50 ms went through first.
    expect(trickled).toBeGreaterThan(20);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  for (const [what, head, status] of [
    ['a bad signature (401)', requestHead(restPath, { length: 2 }), 401],
    ['an unknown path (404)', requestHead('/nowhere', { length: 2 }), 404],
    ['a wrong content type (415)', requestHead(restPath, { length: 2, contentType: 'text/plain' }), 415],
    ['a wrong method (405)', requestHead(restPath, { length: 2 }).replace(/^POST/, 'PUT'), 405],
  ] as const) {
    it(`closes a kept-alive connection after ${what}`, async () => {
      const raw = await openRaw(server.port);
      raw.socket.write(`${head}{}`);
      expect(await raw.closed()).toBe(true);
      expect(firstStatus(raw.received())).toBe(status);
      expect(raw.received().toLowerCase()).toContain('connection: close');
      expect(raw.error()).toBeUndefined();
    });
  }

  it('keeps the connection of an accepted callback alive', async () => {
    const body = pendingBody();
    const raw = await openRaw(server.port);
    raw.socket.write(`${requestHead(restPath, { length: Buffer.byteLength(body), signatureOf: body })}${body}`);
    expect(await raw.waitFor('"action":"commit"')).toBe(true);
    expect(await raw.closed(300)).toBe(false);
    raw.socket.destroy();
  });
});

describe('connection limits', () => {
  it('defaults maxConnections to half the open-file limit, at most 10,000', async () => {
    const limit = Number(/^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))![1]);
    const expected = Math.max(64, Math.min(10_000, Math.floor(limit / 2)));
    expect(defaultMaxConnections()).toBe(expected);
    const server = await listen(quietHooks());
    try {
      expect(server.app.server.maxConnections).toBe(expected);
    } finally {
      await server.app.close();
    }
  });

  it('closes connections over maxConnections at once, and serves again when one goes', async () => {
    const server = await listen(quietHooks(), { maxConnections: 3 });
    try {
      const held = [];
      for (let i = 0; i < 3; i++) {
        const raw = await openRaw(server.port);
        const body = pendingBody();
        raw.socket.write(`${requestHead(restPath, { length: Buffer.byteLength(body), signatureOf: body })}${body}`);
        expect(await raw.waitFor('"action":"commit"')).toBe(true);
        held.push(raw);
      }
      const extra = await openRaw(server.port);
      extra.socket.write(`${requestHead(restPath, { length: 2 })}{}`);
      expect(await extra.closed()).toBe(true);
      expect(extra.received()).toBe('');
      held[0]!.socket.destroy();
      await sleep(50);
      const response = await postSigned(`${server.url}${restPath}`, pendingBody());
      expect(response.status).toBe(200);
      for (const raw of held) raw.socket.destroy();
    } finally {
      await server.app.close();
    }
  });

  it('closes a connection that sends nothing, after firstRequestTimeoutMs', async () => {
    const server = await listen(quietHooks(), { firstRequestTimeoutMs: 300 });
    try {
      const silent = await openRaw(server.port);
      expect(await silent.closed(5000)).toBe(true);
      expect(silent.received()).toBe('');
      // One that sent a request is governed by the keep-alive timeout instead.
      const body = pendingBody();
      const busy = await openRaw(server.port);
      busy.socket.write(`${requestHead(restPath, { length: Buffer.byteLength(body), signatureOf: body })}${body}`);
      expect(await busy.waitFor('"action":"commit"')).toBe(true);
      expect(await busy.closed(800)).toBe(false);
      busy.socket.destroy();
    } finally {
      await server.app.close();
    }
  });
});

describe('overload shedding', () => {
  it('answers callbacks over maxInFlight at once with 503 overloaded + Retry-After (Twirp unavailable), and the accepted ones in full', async () => {
    const release: Array<() => void> = [];
    const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }), shedding: { maxInFlight: 2 }, timeoutMs: 5000, answer: 'inline' });
    hooks.on('PassOnPendingMessage', () => new Promise((resolve) => release.push(() => resolve(decide.commit()))));
    const server = await listen(hooks);
    try {
      const accepted = [postSigned(`${server.url}${restPath}`, pendingBody()), postSigned(`${server.url}${restPath}`, pendingBody())];
      while (release.length < 2) await sleep(5);
      const shed = await postSigned(`${server.url}${restPath}`, pendingBody());
      expect(shed.status).toBe(503);
      expect(shed.headers.get('retry-after')).toBe('1');
      expect(await shed.json()).toMatchObject({ error: 'overloaded' });
      const twirpShed = await postSigned(`${server.url}${twirpPath}`, pendingBody());
      expect(twirpShed.status).toBe(503);
      expect(await twirpShed.json()).toMatchObject({ code: 'unavailable' });
      for (const resolve of release) resolve();
      for (const response of await Promise.all(accepted)) expect(response.status).toBe(200);
      // Room again.
      const after = postSigned(`${server.url}${restPath}`, pendingBody());
      while (release.length < 3) await sleep(5);
      release[2]!();
      expect((await after).status).toBe(200);
    } finally {
      await server.app.close();
    }
  });

  it('sheds a callback that arrives while the event loop is stalled', async () => {
    const server = await listen(quietHooks());
    try {
      const body = pendingBody();
      const raw = await openRaw(server.port);
      raw.socket.write(`${requestHead(restPath, { length: Buffer.byteLength(body), signatureOf: body })}${body}`);
      const until = performance.now() + 600;
      while (performance.now() < until) {
        // a synchronous stall in this process, where the server runs
      }
      expect(await raw.waitFor(/\r\n\r\n\{.*\}/s)).toBe(true);
      expect(firstStatus(raw.received())).toBe(503);
      expect(JSON.parse(firstBody(raw.received()))).toMatchObject({ error: 'overloaded', message: expect.stringMatching(/event loop/) });
      raw.socket.destroy();
      await sleep(200);
      expect((await postSigned(`${server.url}${restPath}`, pendingBody())).status).toBe(200);
    } finally {
      await server.app.close();
    }
  });

  it('with shedding: false, nothing is shed', async () => {
    // The budget counts the stall (the bytes arrived before it): 2 s leaves the handler time.
    const server = await listen(quietHooks({ shedding: false, timeoutMs: 2000 }));
    try {
      const body = pendingBody();
      const raw = await openRaw(server.port);
      raw.socket.write(`${requestHead(restPath, { length: Buffer.byteLength(body), signatureOf: body })}${body}`);
      const until = performance.now() + 400;
      while (performance.now() < until) {
        // stall
      }
      expect(await raw.waitFor('"action":"commit"')).toBe(true);
      raw.socket.destroy();
    } finally {
      await server.app.close();
    }
  });
});

describe('while closing', () => {
  it('answers callbacks 503 in the contract formats, with connection: close', async () => {
    const hooks = quietHooks();
    const server: Server = createHttpServer(createNodeListener(hooks, { closing: () => true }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const rest = await postSigned(`http://127.0.0.1:${port}${restPath}`, pendingBody());
      expect(rest.status).toBe(503);
      expect(rest.headers.get('connection')).toBe('close');
      expect(rest.headers.get('retry-after')).toBe('1');
      expect(await rest.json()).toEqual({ error: 'shutting_down', message: expect.any(String) });
      const twirp = await postSigned(`http://127.0.0.1:${port}${twirpPath}`, pendingBody());
      expect(twirp.status).toBe(503);
      expect(twirp.headers.get('connection')).toBe('close');
      expect(await twirp.json()).toMatchObject({ code: 'unavailable', msg: expect.any(String) });
    } finally {
      server.close();
      await hooks.close();
    }
  });

  it('in a host fastify app: the answer in flight closes its keep-alive connection and app.close() finishes', async () => {
    const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }) });
    hooks.on('PassOnPendingMessage', async () => {
      await sleep(200);
      return decide.commit();
    });
    const app = Fastify();
    app.get('/health', async () => ({ ok: true }));
    await app.register(pendingHooksPlugin, { hooks, prefix: '/hooks' });
    app.addHook('onClose', () => hooks.close());
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const agent = new Agent({ keepAliveTimeout: 60_000, connections: 2 });
    try {
      const body = pendingBody();
      const headers = { 'content-type': 'application/json', 'x-api-key': appKey, 'x-signature': (await import('../support/sign-fixture.js')).streamSignature(appSecret, body) };
      // Warm the kept-alive connections first.
      await (await undiciRequest(`http://127.0.0.1:${port}/health`, { dispatcher: agent })).body.text();
      const inFlight = undiciRequest(`http://127.0.0.1:${port}/hooks/PassOnPendingMessage`, { method: 'POST', headers, body, dispatcher: agent });
      await sleep(60);
      const started = performance.now();
      const closed = app.close();
      const answer = await inFlight;
      expect(answer.statusCode).toBe(200);
      expect(answer.headers.connection).toBe('close');
      expect(await answer.body.json()).toMatchObject({ action: 'commit' });
      await closed;
      // Without connection: close the kept-alive socket would hold close() for fastify's 72 s keep-alive.
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      await agent.close();
    }
  });
});
