import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from '../src/emulator/index.js';
import { createPendingHooks, createServer, decide, type PendingHooks } from '../src/index.js';
import { registerOpsRoutes } from '../src/server/ops-routes.js';
import { appKey, appSecret, pendingBody, postSigned, sleep } from './support/servers.js';

/** One sample's value from Prometheus' text format (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const labelText = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '';
    if (wanted.every(([key, value]) => labelText.includes(`${key}="${value}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

describe('metrics', () => {
  let mock: MockStreamApi;
  let hooks: PendingHooks;
  let url: string;
  let close: () => Promise<void>;
  const release: Array<() => void> = [];

  beforeAll(async () => {
    mock = await createMockStreamApi({ apps: [{ apiKey: appKey, secret: appSecret }] });
    hooks = createPendingHooks({
      apiKey: appKey,
      apiSecret: appSecret,
      logger: pino({ level: 'silent' }),
      api: { baseUrl: mock.url },
      retry: { baseBackoffMs: 5, maxBackoffMs: 10 },
      timeoutMs: 400,
      metrics: true,
      shedding: { maxInFlight: 3 },
    });
    hooks.on('PassOnPendingMessage', async (event) => {
      const text = event.message.text ?? '';
      if (text === 'slow') await sleep(1000);
      if (text === 'hold') await new Promise<void>((resolve) => release.push(resolve));
      if (text === 'throw') throw new Error('boom');
      return text === 'bad' ? decide.delete('bad') : decide.commit();
    });
    const app = await createServer(hooks, { health: true });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    close = async () => {
      await app.close();
      await mock.close();
    };
  });
  afterAll(() => close());

  async function scrape(): Promise<string> {
    const response = await fetch(`${url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    return response.text();
  }

  const passOn = (text: string, id = `m-${Math.random().toString(36).slice(2)}`, webhookId?: string) => {
    mock.addPendingMessage({ id, text });
    return postSigned(`${url}/PassOnPendingMessage`, pendingBody({ id, text }), webhookId ? { webhookId } : {});
  };

  it('count callbacks by outcome, their duration and budget left, fallbacks, refusals, API calls, dedupe hits and sheds', async () => {
    const before = await scrape();
    expect((await passOn('fine')).status).toBe(200);
    expect((await passOn('bad')).status).toBe(200);
    expect(await (await passOn('slow')).json()).toMatchObject({ timed_out: true });
    expect(await (await passOn('throw')).json()).toMatchObject({ reason: 'handler_error' });
    // A retry of a decided callback is answered from the dedupe store.
    const id = `dup-${Date.now()}`;
    await passOn('fine', id, `wh-${id}`);
    await postSigned(`${url}/PassOnPendingMessage`, pendingBody({ id, text: 'fine' }), { webhookId: `wh-${id}`, attempt: 2 });
    // A refusal and a permanent API refusal.
    expect((await postSigned(`${url}/PassOnPendingMessage`, pendingBody(), { secret: 'wrong' })).status).toBe(401);
    mock.injectFaults({ action: 'commit', status: 403, count: 1 });
    expect((await passOn('fine')).status).toBe(200);
    // Three held in flight; the fourth is shed.
    const held = [passOn('hold'), passOn('hold'), passOn('hold')];
    while (release.length < 3) await sleep(5);
    const during = await scrape();
    expect(sample(during, 'pending_hooks_in_flight')).toBe(3);
    expect(sample(during, 'pending_hooks_in_flight_limit')).toBe(3);
    expect((await passOn('fine')).status).toBe(503);
    for (const resolve of release) resolve();
    await Promise.all(held);

    const after = await scrape();
    const grew = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    const rest = { transport: 'rest', method: 'PassOnPendingMessage' };
    expect(grew('pending_hooks_callbacks_total', { ...rest, outcome: 'commit' })).toBeGreaterThanOrEqual(3);
    expect(grew('pending_hooks_callbacks_total', { ...rest, outcome: 'delete' })).toBe(1);
    expect(grew('pending_hooks_callbacks_total', { ...rest, outcome: 'keep_pending' })).toBe(2); // the two fallbacks
    expect(grew('pending_hooks_callback_duration_seconds_count', { transport: 'rest' })).toBeGreaterThanOrEqual(9);
    expect(grew('pending_hooks_budget_left_seconds_count')).toBeGreaterThanOrEqual(9);
    expect(grew('pending_hooks_fallbacks_total', { reason: 'timeout' })).toBe(1);
    expect(grew('pending_hooks_fallbacks_total', { reason: 'handler_error' })).toBe(1);
    expect(grew('pending_hooks_refused_total', { code: 'invalid_signature' })).toBe(1);
    expect(grew('pending_hooks_refused_total', { code: 'overloaded' })).toBe(1);
    expect(grew('pending_hooks_shed_total')).toBe(1);
    expect(grew('pending_hooks_dedupe_hits_total')).toBe(1);
    expect(grew('pending_hooks_stream_api_requests_total', { operation: 'commit', status: '2xx' })).toBeGreaterThanOrEqual(5);
    expect(grew('pending_hooks_stream_api_requests_total', { operation: 'delete', status: '2xx' })).toBe(1);
    expect(grew('pending_hooks_stream_api_requests_total', { operation: 'commit', status: '403' })).toBe(1);
    // node's process metrics come along.
    expect(after).toMatch(/^process_cpu_user_seconds_total /m);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds /m);
    // The GC histogram only when asked for (its observer costs ~4% of throughput).
    expect(after).not.toMatch(/nodejs_gc_duration_seconds/);
  });

  it('GET /healthz and /readyz answer on the standalone server', async () => {
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { api: 'ok', dedupe: 'ok', server: 'ok' } });
  });
});

describe('readiness', () => {
  it('goes false the moment closing begins, and reports an unreachable dedupe store', async () => {
    let closing = false;
    let healthy = true;
    const store = {
      get: () => undefined,
      set: () => undefined,
      get healthy() {
        return healthy;
      },
    };
    const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }), dedupe: store });
    const app = Fastify();
    registerOpsRoutes(app, hooks, { metrics: false, health: true, closing: () => closing });
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    healthy = false;
    const unhealthy = await app.inject('/readyz');
    expect(unhealthy.statusCode).toBe(503);
    expect(unhealthy.json()).toMatchObject({ status: 'not ready', checks: { dedupe: 'unreachable' } });
    healthy = true;
    closing = true;
    const draining = await app.inject('/readyz');
    expect(draining.statusCode).toBe(503);
    expect(draining.json()).toMatchObject({ status: 'draining', checks: { server: 'closing' } });
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    await app.close();
    await hooks.close();
  });

  it('metrics routes refuse to start without metrics on the hooks', async () => {
    const hooks = createPendingHooks({ apiKey: appKey, apiSecret: appSecret, logger: pino({ level: 'silent' }) });
    expect(() => registerOpsRoutes(Fastify(), hooks, { metrics: true, health: false, closing: () => false })).toThrow(/metrics: true/);
    const app = await createServer(hooks);
    expect((await app.inject('/metrics')).statusCode).toBe(404);
    await app.close();
  });
});
