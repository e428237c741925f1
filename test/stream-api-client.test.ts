import { decodeJwt, decodeProtectedHeader } from 'jose';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StreamChat } from 'stream-chat';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from '../src/emulator/index.js';
import { createDryRunApi } from '../src/stream-api/dry-run-api.js';
import { serverToken, signServerToken } from '../src/stream-api/server-token.js';
import { createStreamApiClient } from '../src/stream-api/stream-api-client.js';
import { fromStreamChat } from '../src/stream-api/stream-chat-adapter.js';
import { callWithin, classifyStreamAnswer, parseRetryAfter, saysNotPending, type ScopedStreamApi, type StreamApi } from '../src/stream-api/stream-api.js';
import { RequestScope } from '../src/core/request-scope.js';

const app = { apiKey: 'key-one', secret: 'secret-one' };
const otherApp = { apiKey: 'key-two', secret: 'secret-two' };
const never = () => new AbortController().signal;

let mock: MockStreamApi;
let client: StreamApi;

beforeAll(async () => {
  mock = await createMockStreamApi({ apps: [app, otherApp] });
  client = createStreamApiClient({ ...app, baseUrl: mock.url });
});
afterEach(() => mock.reset());
afterAll(async () => {
  await client.close();
  await mock.close();
});

describe('server token', () => {
  it('is HS256 over exactly {"server": true}, without exp or iat', async () => {
    const token = await signServerToken('s3cret');
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decodeJwt(token)).toEqual({ server: true });
  });

  it('is signed once per secret', async () => {
    const first = serverToken('cached-secret');
    expect(serverToken('cached-secret')).toBe(first);
    expect(await serverToken('other-secret')).not.toBe(await first);
  });
});

describe('createStreamApiClient against the mock API', () => {
  it('commits a pending message once; a second commit is already_done', async () => {
    mock.addPendingMessage({ id: 'm-commit', text: 'hi' });
    expect(await client.commitMessage('m-commit', never())).toEqual({ status: 'applied' });
    expect(mock.stateOf('m-commit')).toBe('committed');
    expect(mock.calls[0]).toMatchObject({ action: 'commit', messageId: 'm-commit', apiKey: app.apiKey, status: 201 });
    expect(mock.calls[0]!.client).toMatch(/^pending-hooks-\d+\.\d+\.\d+/);

    const second = await client.commitMessage('m-commit', never());
    expect(second.status).toBe('already_done');
    expect(second.status === 'already_done' && second.detail).toMatch(/HTTP 400 \(code 4\): CommitMessage failed .*not pending/);
    expect(mock.commitCount('m-commit')).toBe(1);
  });

  it('hard-deletes a pending message; a delete of a missing message (404) is already_done', async () => {
    mock.addPendingMessage({ id: 'm-delete' });
    expect(await client.hardDeleteMessage('m-delete', never())).toEqual({ status: 'applied' });
    expect(mock.stateOf('m-delete')).toBe('deleted');
    const again = await client.hardDeleteMessage('m-delete', never());
    expect(again).toMatchObject({ status: 'already_done', detail: expect.stringContaining('HTTP 404') });
    expect(await client.hardDeleteMessage('never-existed', never())).toMatchObject({ status: 'already_done' });
    expect(mock.commitCount('m-delete')).toBe(1);
  });

  it('treats a commit of a missing (deleted or expired) message as done: nothing is left to commit', async () => {
    const result = await client.commitMessage('missing', never());
    expect(result).toMatchObject({ status: 'already_done', detail: expect.stringContaining('HTTP 404') });
  });

  it('URL-encodes the message id', async () => {
    const id = 'odd id/with?chars&é';
    mock.addPendingMessage({ id });
    expect(await client.commitMessage(id, never())).toEqual({ status: 'applied' });
    expect(mock.stateOf(id)).toBe('committed');
  });

  it('fails without retry on a wrong secret or an unknown api key', async () => {
    mock.addPendingMessage({ id: 'm-auth' });
    const wrongSecret = createStreamApiClient({ apiKey: app.apiKey, secret: 'not-the-secret', baseUrl: mock.url });
    const unknownKey = createStreamApiClient({ apiKey: 'nobody', secret: app.secret, baseUrl: mock.url });
    const otherAppsSecret = createStreamApiClient({ apiKey: app.apiKey, secret: otherApp.secret, baseUrl: mock.url });
    try {
      for (const api of [wrongSecret, unknownKey, otherAppsSecret]) {
        const result = await api.commitMessage('m-auth', never());
        expect(result).toMatchObject({ status: 'failed', retryable: false, detail: expect.stringContaining('HTTP 401') });
      }
      expect(mock.stateOf('m-auth')).toBe('pending');
    } finally {
      await Promise.all([wrongSecret.close(), unknownKey.close(), otherAppsSecret.close()]);
    }
  });

  it('reports 500, 503 and 429 as retryable, with Retry-After', async () => {
    mock.addPendingMessage({ id: 'm-faults' });
    mock.injectFaults({ action: 'commit', status: 500, count: 1 });
    mock.injectFaults({ action: 'commit', status: 503, count: 1 });
    mock.injectFaults({ action: 'commit', status: 429, count: 1, retryAfterSec: 2 });
    expect(await client.commitMessage('m-faults', never())).toMatchObject({ status: 'failed', retryable: true, detail: expect.stringContaining('HTTP 500') });
    expect(await client.commitMessage('m-faults', never())).toMatchObject({ status: 'failed', retryable: true, detail: expect.stringContaining('HTTP 503') });
    expect(await client.commitMessage('m-faults', never())).toMatchObject({ status: 'failed', retryable: true, retryAfterMs: 2000 });
    expect(await client.commitMessage('m-faults', never())).toEqual({ status: 'applied' });
    expect(mock.commitCount('m-faults')).toBe(1);
    expect(mock.calls.map((c) => c.status)).toEqual([500, 503, 429, 201]);
  });

  it('reports a destroyed socket as a retryable network error', async () => {
    mock.addPendingMessage({ id: 'm-net' });
    mock.injectFaults({ action: 'delete', networkError: true, count: 1 });
    const result = await client.hardDeleteMessage('m-net', never());
    expect(result).toMatchObject({ status: 'failed', retryable: true, detail: expect.stringMatching(/^network error: /) });
    expect(mock.stateOf('m-net')).toBe('pending');
    expect(await client.hardDeleteMessage('m-net', never())).toEqual({ status: 'applied' });
  });

  it('reports a refused connection as retryable', async () => {
    const dead = createStreamApiClient({ ...app, baseUrl: 'http://127.0.0.1:1' });
    try {
      expect(await dead.commitMessage('x', never())).toMatchObject({ status: 'failed', retryable: true });
    } finally {
      await dead.close();
    }
  });

  it('returns promptly when the signal is aborted, before or during the call', async () => {
    mock.addPendingMessage({ id: 'm-abort' });
    const pre = new AbortController();
    pre.abort(new Error('deadline'));
    expect(await client.commitMessage('m-abort', pre.signal)).toEqual({
      status: 'failed',
      retryable: false,
      detail: 'aborted: deadline',
    });
    expect(mock.calls).toHaveLength(0);

    mock.injectFaults({ action: 'commit', delayMs: 2000, count: 1 });
    const t0 = performance.now();
    const result = await client.commitMessage('m-abort', AbortSignal.timeout(50));
    expect(performance.now() - t0).toBeLessThan(500);
    expect(result).toMatchObject({ status: 'failed', retryable: false, detail: expect.stringMatching(/^aborted: /) });
  });

  it('reuses keep-alive connections, at most `connections` sockets', async () => {
    // A mock of its own, so no other test's sockets are counted.
    const mock = await createMockStreamApi({ apps: [app] });
    const api = createStreamApiClient({ ...app, baseUrl: mock.url, connections: 4 });
    try {
      for (let i = 0; i < 15; i++) {
        mock.addPendingMessage({ id: `ka-${i}` });
        expect(await api.commitMessage(`ka-${i}`, never())).toEqual({ status: 'applied' });
      }
      // Errors too leave the socket reusable (their body is read to the end).
      for (let i = 0; i < 5; i++) expect((await api.commitMessage(`ka-${i}`, never())).status).toBe('already_done');
      const ids = Array.from({ length: 20 }, (_, i) => `ka-par-${i}`);
      for (const id of ids) mock.addPendingMessage({ id });
      const results = await Promise.all(ids.map((id) => api.commitMessage(id, never())));
      expect(results.every((r) => r.status === 'applied')).toBe(true);
      // 40 calls over at most 4 sockets (a socket goes back to the pool a tick after its body ends).
      expect(mock.connectionCount).toBeLessThanOrEqual(4);
    } finally {
      await api.close();
      await mock.close();
    }
  });

  it('ends a direct call at headersTimeoutMs; a call within a callback\'s scope is ended by its deadline instead', async () => {
    const slowClient = createStreamApiClient({ ...app, baseUrl: mock.url, headersTimeoutMs: 200 });
    try {
      mock.addPendingMessage({ id: 'm-slow-direct' });
      mock.addPendingMessage({ id: 'm-slow-scoped' });
      // undici's headers timer ticks every ~0.5 s: a 1.5 s answer is surely past a 200 ms timeout.
      mock.injectFaults({ action: 'commit', delayMs: 1500, count: 2 });
      const direct = await slowClient.commitMessage('m-slow-direct', never());
      expect(direct).toMatchObject({ status: 'failed', retryable: true, detail: expect.stringMatching(/headers timeout/i) });
      // The same answer within a scope whose deadline is 3 s away: applied.
      const scoped = (slowClient as unknown as ScopedStreamApi)[callWithin];
      expect(await scoped('commit', 'm-slow-scoped', new RequestScope(performance.now() + 3000))).toEqual({ status: 'applied' });
    } finally {
      await slowClient.close();
    }
  });

  it('fails without retry after close()', async () => {
    const api = createStreamApiClient({ ...app, baseUrl: mock.url });
    await api.close();
    expect(await api.commitMessage('x', never())).toMatchObject({ status: 'failed', retryable: false });
  });
});

describe('a 2xx whose body is slow', () => {
  it('is applied when the status arrives; the body is drained after, and its socket reused', async () => {
    // Stream answers a commit with the whole message: here its head at once, the rest 400 ms later.
    let connections = 0;
    const bodiesEnded: number[] = [];
    const api = createServer((request, response) => {
      request.resume();
      const body = JSON.stringify({ message: { id: 'm', text: 'x'.repeat(20_000) }, duration: '1ms' });
      response.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      response.write(body.slice(0, 100));
      setTimeout(() => {
        response.end(body.slice(100));
        bodiesEnded.push(performance.now());
      }, 400);
    });
    api.on('connection', () => connections++);
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    const slow = createStreamApiClient({ ...app, baseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, connections: 1 });
    try {
      const started = performance.now();
      expect(await slow.commitMessage('m', never())).toEqual({ status: 'applied' });
      const appliedAfter = performance.now() - started;
      expect(appliedAfter).toBeLessThan(300);
      expect(bodiesEnded).toEqual([]);
      // The next call waits for the drained socket (one connection) and goes over it.
      expect(await slow.commitMessage('m2', never())).toEqual({ status: 'applied' });
      expect(bodiesEnded.length).toBeGreaterThanOrEqual(1);
      expect(connections).toBe(1);
    } finally {
      await slow.close();
      api.close();
    }
  });

  it('cuts an oversized error body at 64 KiB and a 2xx body past 128 KiB, closing that socket; the next call goes over a new one', async () => {
    let connections = 0;
    const api = createServer((request, response) => {
      request.resume();
      const huge = request.url!.includes('/huge-error');
      // 1 MiB either way: an error whose message would be 1 MiB long, or a commit answer that is.
      const body = JSON.stringify({ message: 'x'.repeat(1024 * 1024), code: 16 });
      response.writeHead(huge ? 500 : 201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    });
    api.on('connection', () => connections++);
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    const client = createStreamApiClient({ ...app, baseUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`, connections: 1 });
    try {
      const failed = await client.commitMessage('huge-error', never());
      expect(failed).toMatchObject({ status: 'failed', retryable: true, detail: expect.stringContaining('HTTP 500') });
      expect(failed.status === 'failed' && failed.detail.length).toBeLessThan(1000);
      expect(await client.commitMessage('huge-answer', never())).toEqual({ status: 'applied' });
      expect(await client.commitMessage('after', never())).toEqual({ status: 'applied' });
      // Each oversized body cost its socket: three calls, three connections.
      expect(connections).toBe(3);
    } finally {
      await client.close();
      api.close();
    }
  });
});

describe('fromStreamChat with a real stream-chat server client', () => {
  const streamChat = () => new StreamChat(app.apiKey, app.secret, { baseURL: mock.url });

  it('commits, then reports the second commit as already_done', async () => {
    const api = fromStreamChat(streamChat());
    mock.addPendingMessage({ id: 'sc-commit' });
    expect(await api.commitMessage('sc-commit', never())).toEqual({ status: 'applied' });
    expect(await api.commitMessage('sc-commit', never())).toMatchObject({
      status: 'already_done',
      detail: expect.stringContaining('not pending'),
    });
    expect(mock.commitCount('sc-commit')).toBe(1);
  });

  it('hard-deletes; a 404 on delete is already_done', async () => {
    const api = fromStreamChat(streamChat());
    mock.addPendingMessage({ id: 'sc-delete' });
    expect(await api.hardDeleteMessage('sc-delete', never())).toEqual({ status: 'applied' });
    expect(mock.stateOf('sc-delete')).toBe('deleted');
    expect(await api.hardDeleteMessage('sc-delete', never())).toMatchObject({ status: 'already_done' });
  });

  it('classifies 5xx, 429, network errors and auth errors like the undici client', async () => {
    const api = fromStreamChat(streamChat());
    mock.addPendingMessage({ id: 'sc-faults' });
    mock.injectFaults({ status: 502, count: 1 });
    mock.injectFaults({ status: 429, count: 1, retryAfterSec: 1 });
    mock.injectFaults({ networkError: true, count: 1 });
    expect(await api.commitMessage('sc-faults', never())).toMatchObject({ status: 'failed', retryable: true, detail: expect.stringContaining('HTTP 502') });
    expect(await api.commitMessage('sc-faults', never())).toMatchObject({ status: 'failed', retryable: true, retryAfterMs: 1000 });
    expect(await api.commitMessage('sc-faults', never())).toMatchObject({ status: 'failed', retryable: true, detail: expect.stringMatching(/^network error/) });

    const wrong = fromStreamChat(new StreamChat(app.apiKey, 'wrong-secret', { baseURL: mock.url }));
    expect(await wrong.commitMessage('sc-faults', never())).toMatchObject({ status: 'failed', retryable: false, detail: expect.stringContaining('HTTP 401') });
    expect(mock.stateOf('sc-faults')).toBe('pending');
  });

  it('returns promptly on abort even though stream-chat cannot cancel', async () => {
    const api = fromStreamChat(streamChat());
    mock.addPendingMessage({ id: 'sc-abort' });
    mock.injectFaults({ delayMs: 1000, count: 1 });
    const t0 = performance.now();
    const result = await api.commitMessage('sc-abort', AbortSignal.timeout(50));
    expect(performance.now() - t0).toBeLessThan(500);
    expect(result).toMatchObject({ status: 'failed', retryable: false, detail: expect.stringMatching(/^aborted/) });
  });
});

describe('createDryRunApi', () => {
  it('answers applied at once and reports what it skipped', async () => {
    const seen: string[] = [];
    const api = createDryRunApi({ onApply: (action, id) => seen.push(`${action}:${id}`) });
    expect(await api.commitMessage('a', never())).toEqual({ status: 'applied' });
    expect(await api.hardDeleteMessage('b', never())).toEqual({ status: 'applied' });
    const aborted = new AbortController();
    aborted.abort('stop');
    expect(await api.commitMessage('c', aborted.signal)).toMatchObject({ status: 'failed', retryable: false });
    expect(seen).toEqual(['commit:a', 'delete:b']);
    await api.close();
  });
});

describe('classifyStreamAnswer', () => {
  it('matches "not pending" case-insensitively, only for commits', () => {
    expect(saysNotPending('Message Is NOT Pending')).toBe(true);
    expect(saysNotPending('the message is no longer pending')).toBe(true);
    expect(saysNotPending('message is not in pending state')).toBe(true);
    expect(saysNotPending('message is pending')).toBe(false);
    const body = { code: 4, message: 'CommitMessage failed with error: "message is NOT PENDING"', StatusCode: 400 };
    expect(classifyStreamAnswer('commit', 400, body).status).toBe('already_done');
    expect(classifyStreamAnswer('delete', 400, body)).toMatchObject({ status: 'failed', retryable: false });
  });

  it('treats 408 and 409 as retryable and other 4xx as permanent', () => {
    expect(classifyStreamAnswer('commit', 408, undefined)).toMatchObject({ retryable: true });
    expect(classifyStreamAnswer('commit', 409, undefined)).toMatchObject({ retryable: true });
    expect(classifyStreamAnswer('commit', 409, undefined)).not.toHaveProperty('permanent');
    expect(classifyStreamAnswer('commit', 403, { code: 17, message: 'not allowed' })).toEqual({
      status: 'failed',
      retryable: false,
      permanent: true,
      detail: 'HTTP 403 (code 17): not allowed',
    });
    expect(classifyStreamAnswer('delete', 431, undefined)).toMatchObject({ permanent: true });
  });

  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
