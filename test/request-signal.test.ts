import type { Socket } from 'node:net';
import Fastify from 'fastify';
import pino from 'pino';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { mockApiServers } from './support/mock-api-servers.js';
import {
  createPendingHooks,
  decide,
  DeadlineExceededError,
  pendingHooksPlugin,
  RequestAbortedError,
  ShutdownError,
  type ApplyResult,
  type StreamApi,
} from '../src/index.js';
import { streamSignature } from './support/sign-fixture.js';
import { appKey, appSecret, pendingBody, postSigned, sleep, type RunningServer } from './support/servers.js';

/*
 * One signal per request (issue #11, item 3): the handler's signal, the decision's API call and
 * its retries end together, for one reason (`reason.code`: deadline or shutdown). A client that
 * closes its connection aborts none of it: the decision is still made and applied (README,
 * "A client that hangs up").
 */

const api = mockApiServers('sig');
const server = api.server.bind(api);
const pending = api.pending.bind(api);

const passOn = (s: RunningServer) => `${s.url}/PassOnPendingMessage`;
const json = async (r: Response) => (await r.json()) as Record<string, unknown>;

/** Resolves with the signal's reason when it aborts (or `undefined` after `ms`). */
function abortOf(signal: AbortSignal, ms: number): Promise<unknown> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve(signal.reason)), { once: true });
  });
}

describe("the handler's signal", () => {
  it('aborts at the handler deadline (timeoutMs − applyReserveMs) with code "deadline"', async () => {
    let seen: { reason: unknown; afterMs: number } | undefined;
    const s = await server({ timeoutMs: 300, applyReserveMs: 100 }, (hooks) =>
      hooks.on('PassOnPendingMessage', async (_event, { signal }) => {
        const started = performance.now();
        const reason = await abortOf(signal, 2000);
        seen = { reason, afterMs: performance.now() - started };
        return decide.commit();
      }),
    );
    const m = pending();
    expect(await json(await postSigned(passOn(s), m.body))).toEqual({ action: 'keep_pending', reason: 'timeout', timed_out: true });
    expect(seen?.reason).toBeInstanceOf(DeadlineExceededError);
    expect(seen?.reason).toBeInstanceOf(RequestAbortedError);
    expect((seen?.reason as RequestAbortedError).code).toBe('deadline');
    // The handler started a little after arrival; its deadline is 200 ms after arrival.
    expect(seen!.afterMs).toBeGreaterThan(150);
    expect(seen!.afterMs).toBeLessThan(260);
    expect(api.mock.calls).toHaveLength(0);
  });
});

describe('a client that hangs up mid-handler', () => {
  /** Sends a callback and closes the connection after `ms`, before the answer. */
  async function sendAndHangUp(url: string, body: string, webhookId: string, ms: number): Promise<void> {
    const controller = new AbortController();
    const call = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': appKey, 'x-signature': streamSignature(appSecret, body), 'x-webhook-id': webhookId },
      body,
      signal: controller.signal,
    });
    await sleep(ms);
    controller.abort();
    await expect(call).rejects.toThrow();
  }

  function slowDelete(handled: { runs: number; aborted: boolean[] }) {
    return async (_event: unknown, { signal }: { signal: AbortSignal }) => {
      handled.runs++;
      await sleep(250);
      handled.aborted.push(signal.aborted);
      return decide.delete('classifier');
    };
  }

  it('(node listener) aborts nothing: the decision is applied once, logged clientGone, and a retry joins it', async () => {
    const handled = { runs: 0, aborted: [] as boolean[] };
    const s = await server({ timeoutMs: 1000 }, (hooks) => hooks.on('PassOnPendingMessage', slowDelete(handled)));
    const m = pending();
    await sendAndHangUp(passOn(s), m.body, 'gone-1', 60);
    // Stream retries a request it gave up on: the retry joins the decision in flight.
    const agent = new Agent();
    const retry = await request(passOn(s), {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', 'x-api-key': appKey, 'x-signature': streamSignature(appSecret, m.body), 'x-webhook-id': 'gone-1', 'x-webhook-attempt': '2' },
      body: m.body,
    });
    expect(await retry.body.json()).toEqual({ action: 'delete', reason: 'classifier', timed_out: false });
    await agent.destroy();
    expect(handled).toEqual({ runs: 1, aborted: [false] });
    expect(api.mock.stateOf(m.id)).toBe('deleted');
    expect(api.mock.commitCount(m.id)).toBe(1);
    const line = s.logs.find((l) => l.msg === 'decision' && l.messageId === m.id);
    expect(line).toMatchObject({ action: 'delete', applied: 'applied', clientGone: true });
  });

  it('(fastify plugin) the same: the handler is not aborted and the decision is applied', async () => {
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger, api: { baseUrl: api.mock.url } });
    const handled = { runs: 0, aborted: [] as boolean[] };
    hooks.on('PassOnPendingMessage', slowDelete(handled));
    const host = Fastify();
    await host.register(pendingHooksPlugin, { hooks, prefix: '/stream' });
    const url = await host.listen({ port: 0, host: '127.0.0.1' });
    try {
      const m = pending();
      await sendAndHangUp(`${url}/stream/PassOnPendingMessage`, m.body, 'gone-fastify', 60);
      await api.mock.waitForState(m.id, 'deleted', 2000);
      await sleep(20);
      expect(handled).toEqual({ runs: 1, aborted: [false] });
      expect(api.mock.commitCount(m.id)).toBe(1);
      expect(logs.find((l) => l.msg === 'decision' && l.messageId === m.id)).toMatchObject({ action: 'delete', applied: 'applied', clientGone: true });
    } finally {
      await host.close();
      await hooks.close();
    }
  });

  it('an answer written before the client left is not marked clientGone', async () => {
    const s = await server({}, (hooks) => hooks.on('PassOnPendingMessage', async () => (await sleep(5), decide.commit())));
    const m = pending();
    expect(await json(await postSigned(passOn(s), m.body))).toEqual({ action: 'commit', timed_out: false });
    const line = s.logs.find((l) => l.msg === 'decision' && l.messageId === m.id);
    expect(line).toBeDefined();
    expect(line).not.toHaveProperty('clientGone');
  });
});

describe('shutdown past the drain', () => {
  it("aborts in-flight handlers with code 'shutdown': fallback answered, close() does not wait for them", async () => {
    const reasons: unknown[] = [];
    const s = await server({ timeoutMs: 3000 }, (hooks) =>
      hooks.on('PassOnPendingMessage', async (_event, { signal }) => {
        reasons.push(await abortOf(signal, 5000));
        return decide.commit();
      }),
    );
    const messages = [pending(), pending(), pending()];
    const answers = messages.map((m) => postSigned(passOn(s), m.body));
    await sleep(100);
    const closing = performance.now();
    await s.hooks.close(150);
    const closedAfter = performance.now() - closing;
    for (const answer of await Promise.all(answers)) expect(await json(answer)).toEqual({ action: 'keep_pending', reason: 'shutdown', timed_out: false });
    expect(reasons).toHaveLength(3);
    for (const reason of reasons) {
      expect(reason).toBeInstanceOf(ShutdownError);
      expect((reason as RequestAbortedError).code).toBe('shutdown');
    }
    expect(closedAfter).toBeGreaterThanOrEqual(140);
    expect(closedAfter).toBeLessThan(1000);
    for (const m of messages) expect(api.mock.stateOf(m.id)).toBe('pending');
  });

  it('stops the API call and its retries at the same instant: no call starts after it, close() returns at once', async () => {
    // Ack-first with a long budget: before, the retries went on for the whole budget (10 s).
    const s = await server({ timeoutMs: 10_000, answer: 'ack-first', retry: { baseBackoffMs: 5, maxBackoffMs: 10 } }, (hooks) =>
      hooks.on('PassOnPendingMessage', () => decide.commit()),
    );
    api.mock.injectFaults({ action: 'commit', status: 500, delayMs: 20, count: Infinity });
    const m = pending();
    expect(await json(await postSigned(passOn(s), m.body))).toEqual({ accepted: true });
    await sleep(200);
    expect(api.mock.calls.length).toBeGreaterThan(3); // retrying
    const closing = performance.now();
    const abortedAt = Date.now();
    await s.hooks.close(0);
    expect(performance.now() - closing).toBeLessThan(1000);
    await sleep(300);
    // The mock logs a call when it answers (20 ms after it arrived): the one in flight at the
    // abort is logged a moment later, with its arrival time. None arrived after the abort (which
    // comes within a few ms of `abortedAt`, in close(); a retry waits ≥ 2.5 ms, a call takes 20).
    for (const call of api.mock.calls) expect(call.at).toBeLessThanOrEqual(abortedAt + 5);
    expect(api.mock.stateOf(m.id)).toBe('pending');
    const line = s.logs.find((l) => l.messageId === m.id && l.applied === 'failed');
    expect(line).toMatchObject({ action: 'commit', detail: expect.stringMatching(/^aborted: .*shutting down/) });
  });
});

describe('the deadline ends the API call and its retries together', () => {
  it('inline: answered 503 at the deadline; no call starts after it', async () => {
    const s = await server({ timeoutMs: 400 }, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
    api.mock.injectFaults({ action: 'commit', status: 500, delayMs: 30, count: Infinity });
    const m = pending();
    const answer = await postSigned(passOn(s), m.body);
    const answeredAt = Date.now();
    expect(answer.status).toBe(503);
    expect(await json(answer)).toMatchObject({ error: 'decision_not_applied' });
    expect(api.mock.calls.length).toBeGreaterThan(2); // retried until the deadline
    await sleep(300);
    // Logged when answered (30 ms after arrival); none arrived after the answer.
    for (const call of api.mock.calls) expect(call.at).toBeLessThanOrEqual(answeredAt);
  });
});

describe('a StreamApi of your own gets the same scope as an AbortSignal', () => {
  it("its signal aborts at the request's deadline with the shared reason; no second call starts", async () => {
    const seen: { reasons: unknown[]; calls: number } = { reasons: [], calls: 0 };
    const hang = (signal: AbortSignal) => {
      seen.calls++;
      return new Promise<ApplyResult>((resolve) =>
        signal.addEventListener('abort', () => {
          seen.reasons.push(signal.reason);
          // Transient on purpose: only the abort may stop the retries.
          resolve({ status: 'failed', retryable: true, detail: 'network error: aborted' });
        }),
      );
    };
    const api: StreamApi = { commitMessage: (_id, signal) => hang(signal), hardDeleteMessage: (_id, signal) => hang(signal), close: async () => {} };
    const s = await server({ timeoutMs: 300, api }, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
    const m = pending();
    const answer = await postSigned(passOn(s), m.body);
    expect(answer.status).toBe(503);
    await sleep(100);
    expect(seen.calls).toBe(1);
    expect(seen.reasons).toHaveLength(1);
    expect(seen.reasons[0]).toBeInstanceOf(DeadlineExceededError);
    expect((seen.reasons[0] as RequestAbortedError).code).toBe('deadline');
  });
});

describe('no listener or timer outlives its callback', () => {
  it('10,000 callbacks, each applied through the API, leave no listener on the kept-alive sockets and no timer behind', async () => {
    const s = await server({ timeoutMs: 2000, shedding: false }, (hooks) => {
      hooks.on('PassOnPendingMessage', async (_event, { signal }) => {
        void signal; // a materialised signal, linked to the request's scope
        await Promise.resolve();
        return decide.commit();
      });
    });
    const sockets = new Set<Socket>();
    s.app.server.on('connection', (socket: Socket) => sockets.add(socket));
    const agent = new Agent({ connections: 8, keepAliveTimeout: 60_000 });
    const bodies = Array.from({ length: 50 }, () => pendingBody());
    const send = async (i: number) => {
      const body = bodies[i % bodies.length]!;
      const response = await request(passOn(s), {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'x-api-key': appKey, 'x-signature': streamSignature(appSecret, body), 'x-webhook-id': `leak-${i}` },
        body,
      });
      expect(response.statusCode).toBe(200);
      await response.body.dump();
    };
    const listeners = () => [...sockets].map((socket) => socket.eventNames().map((name) => `${String(name)}:${socket.listenerCount(name)}`).join(','));
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    try {
      let next = 0;
      const run = (n: number) => Promise.all(Array.from({ length: 8 }, async () => { while (next < n) await send(next++); }));
      await run(200);
      await sleep(50);
      const before = { listeners: listeners(), timers: timers() };
      await run(10_200);
      await sleep(50);
      expect(sockets.size).toBe(8);
      expect(listeners()).toEqual(before.listeners);
      expect(timers()).toBeLessThanOrEqual(before.timers);
    } finally {
      await agent.close();
    }
  }, 60_000);
});
