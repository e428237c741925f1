import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { SignJWT } from 'jose';
import { StreamChat } from 'stream-chat';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createMockStreamApi,
  sampleMessage,
  sampleMessages,
  samplePayload,
  sendCallback,
  type MockStreamApi,
} from '../src/emulator/index.js';
import { pendingMessageBodySchema } from '../src/event/message-schema.js';
import { signServerToken } from '../src/stream-api/server-token.js';

const app = { apiKey: 'emu-key', secret: 'emu-secret' };
const otherApp = { apiKey: 'emu-key-2', secret: 'emu-secret-2' };

/** An independent signer, so the test does not trust the code under test. */
const hmacHex = (bytes: Uint8Array | string, secret: string) => createHmac('sha256', secret).update(bytes).digest('hex');

describe('mock Stream API', () => {
  let mock: MockStreamApi;
  let token: string;

  beforeAll(async () => {
    mock = await createMockStreamApi({ apps: [app, otherApp] });
    token = await signServerToken(app.secret);
  });
  afterEach(() => mock.reset());
  afterAll(() => mock.close());

  async function call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    options: { query?: string; headers?: Record<string, string>; body?: unknown; apiKey?: string | null } = {},
  ) {
    const apiKey = options.apiKey === undefined ? app.apiKey : options.apiKey;
    const query = [apiKey === null ? '' : `api_key=${apiKey}`, options.query ?? ''].filter(Boolean).join('&');
    const response = await request(`${mock.url}${path}?${query}`, {
      method,
      headers: {
        authorization: token,
        'stream-auth-type': 'jwt',
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: options.body === undefined ? null : JSON.stringify(options.body),
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: text === '' ? undefined : (JSON.parse(text) as Record<string, any>) };
  }

  describe('auth', () => {
    it('accepts a server token of a known app', async () => {
      expect((await call('GET', '/app')).status).toBe(200);
    });

    it.each([
      ['no api_key', { apiKey: null }, 2],
      ['an unknown api_key', { apiKey: 'who' }, 2],
      ['no Stream-Auth-Type', { headers: { 'stream-auth-type': '' } }, 5],
      ['no Authorization', { headers: { authorization: '' } }, 5],
      ['a token signed with another secret', { headers: { authorization: 'x' } }, 43],
    ] as const)('answers 401 Stream-style for %s', async (_name, options, code) => {
      const opts: Parameters<typeof call>[2] = { ...options };
      if (_name === 'a token signed with another secret') {
        opts.headers = { authorization: await signServerToken('not-the-secret') };
      }
      const { status, body } = await call('GET', '/app', opts);
      expect(status).toBe(401);
      expect(body).toEqual({
        code,
        message: expect.stringMatching(/^GetApp failed with error: ".*"$/),
        StatusCode: 401,
        duration: expect.any(String),
        more_info: 'https://getstream.io/chat/docs/api_errors_response',
      });
    });

    it('rejects a token of the other app, a user token and a non-HS256 token', async () => {
      const otherAppsToken = await signServerToken(otherApp.secret);
      expect((await call('GET', '/app', { headers: { authorization: otherAppsToken } })).status).toBe(401);
      const secret = new TextEncoder().encode(app.secret);
      const userToken = await new SignJWT({ user_id: 'bob' }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
      expect((await call('GET', '/app', { headers: { authorization: userToken } })).status).toBe(401);
      const hs512 = await new SignJWT({ server: true }).setProtectedHeader({ alg: 'HS512' }).sign(secret);
      expect((await call('GET', '/app', { headers: { authorization: hs512 } })).status).toBe(401);
      expect(mock.calls.map((c) => c.status)).toEqual([401, 401, 401]);
    });
  });

  describe('message lifecycle', () => {
    it('commits once; a second commit gets the "not pending" error', async () => {
      mock.addPendingMessage(sampleMessage({ id: 'life-1' }, 1));
      const first = await call('POST', '/messages/life-1/commit', { body: {} });
      expect(first.status).toBe(201);
      expect(first.body?.message.id).toBe('life-1');
      const second = await call('POST', '/messages/life-1/commit');
      expect(second).toEqual({
        status: 400,
        body: {
          code: 4,
          message: 'CommitMessage failed with error: "message life-1 is not pending"',
          StatusCode: 400,
          duration: expect.any(String),
          more_info: expect.any(String),
        },
      });
      expect(mock.stateOf('life-1')).toBe('committed');
      expect(mock.commitCount('life-1')).toBe(1);
      expect(mock.calls.map((c) => [c.action, c.messageId, c.status])).toEqual([
        ['commit', 'life-1', 201],
        ['commit', 'life-1', 400],
      ]);
    });

    it('rejects a soft delete of a pending message and accepts a hard one', async () => {
      mock.addPendingMessage({ id: 'life-2' });
      const soft = await call('DELETE', '/messages/life-2');
      expect(soft.status).toBe(400);
      expect(soft.body?.message).toMatch(/hard/);
      expect(mock.stateOf('life-2')).toBe('pending');
      const hard = await call('DELETE', '/messages/life-2', { query: 'hard=true' });
      expect(hard.status).toBe(200);
      expect(hard.body?.message).toMatchObject({ id: 'life-2', type: 'deleted' });
      expect(mock.stateOf('life-2')).toBe('deleted');
      expect((await call('DELETE', '/messages/life-2', { query: 'hard=true' })).status).toBe(404);
      expect((await call('POST', '/messages/life-2/commit')).status).toBe(404);
    });

    it('answers 404 for an unknown message and for a message of another app', async () => {
      const unknown = await call('POST', '/messages/nope/commit');
      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatchObject({ code: 16, StatusCode: 404 });
      mock.addPendingMessage({ id: 'life-3' }, { apiKey: otherApp.apiKey });
      expect((await call('POST', '/messages/life-3/commit')).status).toBe(404);
      expect(mock.stateOf('life-3')).toBe('pending');
    });

    it('expires a message still pending after timeoutMs', async () => {
      const changes: string[] = [];
      const local = await createMockStreamApi({ apps: [app], onStateChange: (id, state) => changes.push(`${id}:${state}`) });
      try {
        local.addPendingMessage({ id: 'exp-1' }, { timeoutMs: 60 });
        local.addPendingMessage({ id: 'exp-2' }, { timeoutMs: 60 });
        const t0 = performance.now();
        const commit = await request(`${local.url}/messages/exp-2/commit?api_key=${app.apiKey}`, {
          method: 'POST',
          headers: { authorization: token, 'stream-auth-type': 'jwt' },
        });
        await commit.body.dump();
        expect(commit.statusCode).toBe(201);
        await local.waitForState('exp-1', 'expired', 1000);
        expect(performance.now() - t0).toBeGreaterThanOrEqual(50);
        await new Promise((resolve) => setTimeout(resolve, 80));
        expect(local.stateOf('exp-2')).toBe('committed');
        expect(changes).toEqual(['exp-2:committed', 'exp-1:expired']);
        await expect(local.waitForState('exp-2', 'deleted', 30)).rejects.toThrow(/did not become deleted/);
      } finally {
        await local.close();
      }
    });

    it('injects faults once per count, then behaves', async () => {
      mock.addPendingMessage({ id: 'fault-1' });
      mock.injectFaults({ action: 'commit', status: 503, count: 2 });
      expect((await call('POST', '/messages/fault-1/commit')).status).toBe(503);
      expect((await call('POST', '/messages/fault-1/commit')).status).toBe(503);
      expect((await call('POST', '/messages/fault-1/commit')).status).toBe(201);
      mock.injectFaults({ action: 'get_app', networkError: true, count: 1 });
      await expect(call('GET', '/app')).rejects.toThrow();
      expect(mock.calls.at(-1)).toMatchObject({ action: 'get_app', status: 0 });
      expect((await call('GET', '/app')).status).toBe(200);
    });

    it('reset() forgets messages, calls and faults', async () => {
      mock.addPendingMessage({ id: 'reset-1' });
      mock.injectFaults({ status: 500, count: 5 });
      await call('POST', '/messages/reset-1/commit');
      mock.reset();
      expect(mock.stateOf('reset-1')).toBeUndefined();
      expect(mock.calls).toHaveLength(0);
      mock.addPendingMessage({ id: 'reset-1' });
      expect((await call('POST', '/messages/reset-1/commit')).status).toBe(201);
    });
  });

  describe('GET/PATCH /app event_hooks', () => {
    const pendingHook = {
      enabled: true,
      hook_type: 'pending_message',
      webhook_url: 'http://127.0.0.1:9999/hooks',
      timeout_ms: 500,
      callback: { mode: 'CALLBACK_MODE_REST' },
    };
    const webhook = { enabled: true, hook_type: 'webhook', webhook_url: 'http://h/{{.AppID}}/{{.EventType}}', event_types: ['message.new'] };
    const sqs = { enabled: false, hook_type: 'sqs', sqs_queue_url: 'http://sqs', sqs_auth_type: 'keys', sqs_key: 'k', sqs_secret: 's' };

    const hooksOf = async (apiKey = app.apiKey) => {
      const got = await call('GET', '/app', { apiKey, headers: apiKey === app.apiKey ? {} : { authorization: await signServerToken(otherApp.secret) } });
      expect(got.status).toBe(200);
      return got.body?.app.event_hooks as Record<string, any>[];
    };

    it('replaces the whole list and generates ids', async () => {
      expect(await hooksOf()).toEqual([]);
      const patched = await call('PATCH', '/app', { body: { event_hooks: [pendingHook, webhook, sqs] } });
      expect(patched).toEqual({ status: 201, body: { duration: expect.any(String) } });
      const hooks = await hooksOf();
      expect(hooks.map((h) => h.hook_type)).toEqual(['pending_message', 'webhook', 'sqs']);
      for (const hook of hooks) expect(hook.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(hooks[0]).toMatchObject(pendingHook);

      // An update that leaves hooks out deletes them.
      await call('PATCH', '/app', { body: { event_hooks: [{ ...hooks[1], webhook_url: 'http://new' }] } });
      const after = await hooksOf();
      expect(after).toHaveLength(1);
      expect(after[0]).toMatchObject({ id: hooks[1]!.id, webhook_url: 'http://new', created_at: hooks[1]!.created_at });
      // Other apps are untouched; a PATCH without event_hooks changes none.
      expect(await hooksOf(otherApp.apiKey)).toEqual([]);
      await call('PATCH', '/app', { body: { disable_auth_checks: false } });
      expect(await hooksOf()).toEqual(after);
    });

    it('supports explicit_event_hooks_deletion: delete by id, upsert the rest', async () => {
      await call('PATCH', '/app', { body: { event_hooks: [pendingHook, webhook, sqs] } });
      const [pending, hook, queue] = await hooksOf();
      const result = await call('PATCH', '/app', {
        body: {
          explicit_event_hooks_deletion: true,
          event_hooks: [
            { id: hook!.id, delete: true },
            { ...queue, enabled: true },
            { ...pendingHook, webhook_url: 'http://second', timeout_ms: 1500 },
          ],
        },
      });
      expect(result.status).toBe(201);
      const hooks = await hooksOf();
      expect(hooks.map((h) => h.id)).toEqual([pending!.id, queue!.id, expect.any(String)]);
      expect(hooks[1]).toMatchObject({ enabled: true });
      expect(hooks[2]).toMatchObject({ webhook_url: 'http://second', timeout_ms: 1500 });
      expect(hooks.some((h) => 'delete' in h)).toBe(false);
    });

    it.each([
      ['a third pending_message hook', [pendingHook, pendingHook, pendingHook], /at most 2/],
      ['pending_message without timeout_ms', [{ ...pendingHook, timeout_ms: undefined }], /timeout_ms/],
      ['pending_message without a callback mode', [{ ...pendingHook, callback: {} }], /callback\.mode/],
      ['REST pending_message without webhook_url', [{ ...pendingHook, webhook_url: '' }], /webhook_url/],
      ['an unknown hook_type', [{ hook_type: 'carrier_pigeon' }], /hook_type/],
      ['sqs keys without the secret', [{ ...sqs, sqs_secret: undefined }], /sqs_secret/],
      ['sns role without the role arn', [{ hook_type: 'sns', sns_topic_arn: 'arn', sns_auth_type: 'role' }], /sns_role_arn/],
      ['a repeated id', [{ ...webhook, id: 'x' }, { ...webhook, id: 'x' }], /repeated/],
    ])('rejects %s with a Stream-style 400 and changes nothing', async (_name, eventHooks, pattern) => {
      await call('PATCH', '/app', { body: { event_hooks: [webhook] } });
      const before = await hooksOf();
      const result = await call('PATCH', '/app', { body: { event_hooks: eventHooks } });
      expect(result.status).toBe(400);
      expect(result.body).toMatchObject({ code: 4, StatusCode: 400, message: expect.stringMatching(pattern) });
      expect(await hooksOf()).toEqual(before);
    });

    it('accepts CALLBACK_MODE_NONE without a webhook_url, and two pending hooks', async () => {
      const none = { hook_type: 'pending_message', enabled: true, timeout_ms: 259_200_000, callback: { mode: 'CALLBACK_MODE_NONE' } };
      const result = await call('PATCH', '/app', { body: { event_hooks: [none, pendingHook] } });
      expect(result.status).toBe(201);
      expect(await hooksOf()).toHaveLength(2);
    });

    it('works with the official stream-chat client (read, merge, update)', async () => {
      const client = new StreamChat(app.apiKey, app.secret, { baseURL: mock.url });
      await client.updateAppSettings({ event_hooks: [webhook as never] });
      const settings = await client.getAppSettings();
      const existing = settings.app?.event_hooks ?? [];
      expect(existing).toHaveLength(1);
      await client.updateAppSettings({ event_hooks: [...existing, pendingHook as never] });
      expect((await client.getAppSettings()).app?.event_hooks?.map((h) => h.hook_type)).toEqual(['webhook', 'pending_message']);
      expect(mock.eventHooks(app.apiKey)).toHaveLength(2);
    });
  });
});

describe('sendCallback', () => {
  type Behaviour = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
  interface Received {
    path: string;
    headers: IncomingMessage['headers'];
    body: Buffer;
  }
  let server: Server;
  let base: string;
  let behaviour: Behaviour;
  const received: Received[] = [];
  // A dispatcher per test: sockets the server closes after one test are never reused by the next.
  let dispatcher: Agent;
  const send = (options: Omit<Parameters<typeof sendCallback>[0], 'dispatcher'>) => sendCallback({ ...options, dispatcher });

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        received.push({ path: req.url ?? '', headers: req.headers, body });
        behaviour(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  beforeEach(() => {
    dispatcher = new Agent();
  });
  afterEach(async () => {
    received.length = 0;
    await dispatcher.destroy();
    server.closeAllConnections();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const json = (status: number, body: unknown): Behaviour => (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const payload = samplePayload(sampleMessage({ id: 'cb-1' }, 7));
  const fast = { backoffMs: 10, requestTimeoutMs: 150, totalTimeoutMs: 2000 };

  it('POSTs {url}/{method}, signed, with Stream’s headers', async () => {
    behaviour = json(200, { action: 'commit', timed_out: false });
    const result = await send({ url: base, apiKey: app.apiKey, secret: app.secret, payload });
    expect(result).toMatchObject({ status: 200, ok: true, body: { action: 'commit', timed_out: false }, aborted: false });
    expect(result.attempts).toEqual([{ attempt: 1, status: 200, ms: expect.any(Number) }]);
    const [req] = received;
    expect(req!.path).toBe('/hooks/PassOnPendingMessage');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['x-api-key']).toBe(app.apiKey);
    expect(req!.headers['x-webhook-id']).toBe(result.webhookId);
    expect(req!.headers['x-webhook-attempt']).toBe('1');
    expect(req!.headers['x-signature']).toBe(hmacHex(req!.body, app.secret));
    expect(req!.headers['x-signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(req!.body.toString('utf8'))).toEqual(payload);
  });

  it('posts DeletedPendingMessage and keeps a given webhook id', async () => {
    behaviour = json(200, { ok: true });
    const webhookId = randomUUID();
    const result = await send({ url: `${base}/`, method: 'DeletedPendingMessage', apiKey: 'k', secret: 's', payload, webhookId });
    expect(result.webhookId).toBe(webhookId);
    expect(received[0]!.path).toBe('/hooks/DeletedPendingMessage');
    expect(received[0]!.headers['x-webhook-id']).toBe(webhookId);
  });

  it.each([408, 429, 500, 503])('retries a %i answer up to 3 attempts with the same webhook id', async (status) => {
    behaviour = json(status, { error: 'nope' });
    const result = await send({ url: base, apiKey: 'k', secret: 's', payload, ...fast });
    expect(result.attempts.map((a) => a.status)).toEqual([status, status, status]);
    expect(result).toMatchObject({ status, ok: false, body: { error: 'nope' } });
    expect(received.map((r) => r.headers['x-webhook-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(received.map((r) => r.headers['x-webhook-id']))).toEqual(new Set([result.webhookId]));
    // Every attempt carries the same body and signature.
    expect(new Set(received.map((r) => r.headers['x-signature'])).size).toBe(1);
  });

  it('stops retrying at the first success', async () => {
    let n = 0;
    behaviour = (req, res, body) => (++n < 2 ? json(500, {}) : json(200, { action: 'delete', timed_out: false }))(req, res, body);
    const result = await send({ url: base, apiKey: 'k', secret: 's', payload, ...fast });
    expect(result.attempts.map((a) => a.status)).toEqual([500, 200]);
    expect(result.ok).toBe(true);
  });

  it.each([400, 401, 404, 413])('does not retry a %i answer', async (status) => {
    behaviour = json(status, { error: 'x' });
    const result = await send({ url: base, apiKey: 'k', secret: 's', payload, ...fast });
    expect(result.attempts).toHaveLength(1);
    expect(result.status).toBe(status);
  });

  it('times out a hanging request and tries 3 times', async () => {
    behaviour = () => undefined; // never answers
    const result = await send({ url: base, apiKey: 'k', secret: 's', payload, ...fast });
    expect(result.attempts.map((a) => a.errorKind)).toEqual(['timeout', 'timeout', 'timeout']);
    expect(result.status).toBeUndefined();
    for (const attempt of result.attempts) {
      expect(attempt.ms).toBeGreaterThanOrEqual(140);
      expect(attempt.ms).toBeLessThan(400);
    }
    expect(result.totalMs).toBeLessThan(3 * 150 + 2 * 10 + 300);
  });

  it('never exceeds the total timeout, cutting the last attempt short', async () => {
    behaviour = () => undefined;
    const result = await send({ url: base, apiKey: 'k', secret: 's', payload, backoffMs: 10, requestTimeoutMs: 300, totalTimeoutMs: 500 });
    expect(result.attempts).toHaveLength(2);
    expect(result.attempts[1]!.ms).toBeLessThan(250);
    expect(result.totalMs).toBeGreaterThanOrEqual(480);
    expect(result.totalMs).toBeLessThan(500 + 100);
  });

  it('tries twice on a network error (socket destroyed)', async () => {
    behaviour = (req) => req.socket.destroy();
    const result = await send({ url: base, apiKey: 'k', secret: 's', payload, ...fast });
    expect(result.attempts.map((a) => a.errorKind)).toEqual(['network', 'network']);
    expect(result.attempts[0]!.error).toBeTruthy();
    expect(received).toHaveLength(2);
  });

  it('tries twice when the connection is refused', async () => {
    const result = await send({ url: 'http://127.0.0.1:1/hooks', apiKey: 'k', secret: 's', payload, ...fast });
    expect(result.attempts.map((a) => a.errorKind)).toEqual(['network', 'network']);
    expect(result.ok).toBe(false);
  });

  it('applies the limit of the latest failure (500, then a network error → stop at 2)', async () => {
    let n = 0;
    behaviour = (req, res, body) => (++n === 1 ? json(500, {})(req, res, body) : req.socket.destroy());
    const result = await send({ url: base, apiKey: 'k', secret: 's', payload, ...fast });
    expect(result.attempts.map((a) => a.status ?? a.errorKind)).toEqual([500, 'network']);
  });

  it('gzips the body and signs the uncompressed bytes', async () => {
    behaviour = json(200, { action: 'commit', timed_out: false });
    const result = await send({ url: base, apiKey: 'k', secret: app.secret, payload, gzip: true });
    expect(result.ok).toBe(true);
    const [req] = received;
    expect(req!.headers['content-encoding']).toBe('gzip');
    expect([...req!.body.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    const inflated = gunzipSync(req!.body);
    expect(req!.headers['x-signature']).toBe(hmacHex(inflated, app.secret));
    expect(req!.headers['x-signature']).not.toBe(hmacHex(req!.body, app.secret));
    expect(JSON.parse(inflated.toString('utf8'))).toEqual(payload);
  });

  it('can omit or forge the signature for rejection tests', async () => {
    behaviour = json(401, { error: 'invalid_signature' });
    await send({ url: base, apiKey: 'k', secret: 's', payload, signature: false });
    await send({ url: base, apiKey: 'k', secret: 's', payload, signature: 'deadbeef' });
    expect(received[0]!.headers['x-signature']).toBeUndefined();
    expect(received[1]!.headers['x-signature']).toBe('deadbeef');
  });

  it('takes body bytes, path and content type from the caller for Twirp modes', async () => {
    behaviour = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/protobuf' });
      res.end(Buffer.from([8, 1]));
    };
    const bytes = new Uint8Array([0x0a, 0x03, 0x61, 0x62, 0x63]);
    const path = '/twirp/pendingmessage.v1.PendingMessageService/PassOnPendingMessage';
    const result = await send({
      url: base,
      mode: 'twirp-protobuf',
      path,
      encode: () => bytes,
      contentType: 'application/protobuf',
      apiKey: 'k',
      secret: 's',
      payload,
    });
    expect(result.status).toBe(200);
    expect(result.attempts).toHaveLength(1);
    expect(received[0]!.path).toBe(path);
    expect(received[0]!.headers['content-type']).toBe('application/protobuf');
    expect([...received[0]!.body]).toEqual([...bytes]);
    expect(received[0]!.headers['x-signature']).toBe(hmacHex(bytes, 's'));
    // Without a path, a Twirp mode posts to the default /twirp prefix.
    await send({ url: base, mode: 'twirp-json', apiKey: 'k', secret: 's', payload });
    expect(received.at(-1)!.path).toMatch(/\/twirp\/pendingmessage\.v1\.PendingMessageService\/PassOnPendingMessage$/);
  });

  it('stops when its signal is aborted', async () => {
    behaviour = () => undefined;
    const t0 = performance.now();
    const result = await send({ url: base, apiKey: 'k', secret: 's', payload, signal: AbortSignal.timeout(50), requestTimeoutMs: 5000 });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(result.aborted).toBe(true);
    expect(result.attempts).toHaveLength(1);
  });
});

describe('sample messages', () => {
  it('is deterministic for a seed and varies across seeds', () => {
    expect(sampleMessage({}, 42)).toEqual(sampleMessage({}, 42));
    expect(sampleMessage({}, 'abc')).toEqual(sampleMessage({}, 'abc'));
    expect(sampleMessage({}, 42)).not.toEqual(sampleMessage({}, 43));
    expect(sampleMessage().id).not.toBe(sampleMessage().id);
    expect(samplePayload(sampleMessage({}, 1))).toEqual(samplePayload(sampleMessage({}, 1)));
  });

  it('applies overrides last', () => {
    const message = sampleMessage({ id: 'fixed', text: 'hello', my_field: 1 }, 5);
    expect(message).toMatchObject({ id: 'fixed', text: 'hello', my_field: 1 });
  });

  it('produces valid, varied, realistic payloads', () => {
    const messages = sampleMessages(200, 'variety');
    for (const message of messages) {
      expect(pendingMessageBodySchema.safeParse(samplePayload(message)).success).toBe(true);
    }
    const some = (predicate: (m: Record<string, any>) => boolean) => messages.some((m) => predicate(m as Record<string, any>));
    expect(some((m) => m.type === 'reply' && typeof m.parent_id === 'string')).toBe(true);
    expect(some((m) => m.attachments.some((a: any) => typeof a.og_scrape_url === 'string'))).toBe(true);
    expect(some((m) => m.attachments.some((a: any) => typeof a.image_url === 'string'))).toBe(true);
    expect(some((m) => m.mentioned_users.length > 0)).toBe(true);
    expect(some((m) => m.user.country !== undefined || m.user.plan !== undefined)).toBe(true);
    expect(some((m) => m.priority !== undefined || m.campaign_id !== undefined)).toBe(true);
    expect(some((m) => /\p{Extended_Pictographic}/u.test(m.text))).toBe(true);
    expect(some((m) => /[\u0590-\u06ff]/.test(m.text))).toBe(true);
    expect(messages.every((m) => /^[a-z]+:[a-z]+-[0-9a-f]{6}$/.test(m.cid ?? ''))).toBe(true);
    const payload = samplePayload(messages[0]!, { metadata: { a: 'b' }, requestInfo: { type: 'server' } });
    expect(payload.metadata).toEqual({ a: 'b' });
    expect(payload.request_info).toMatchObject({ type: 'server', sdk: expect.any(String) });
  });
});
