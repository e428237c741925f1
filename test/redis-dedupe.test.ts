import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from '../src/emulator/index.js';
import { createRedisDedupeStore, decide, type PendingHooks, type PendingHooksOptions, type RedisDedupeStore } from '../src/index.js';
import { redisUnavailable, startTestRedis, type TestRedis } from './support/redis.js';
import { appKey, appSecret, pendingBody, postSigned, sleep, startHooksServer, type RunningServer } from './support/servers.js';

let mock: MockStreamApi;
let redis: TestRedis;
let admin: Redis;
const servers: RunningServer[] = [];
let prefixCounter = 0;

beforeAll(async () => {
  if (redisUnavailable) return;
  mock = await createMockStreamApi({ apps: [{ apiKey: appKey, secret: appSecret }] });
  redis = await startTestRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  if (redisUnavailable) return;
  admin.disconnect();
  await mock.close();
  if (redis.own) await redis.stop();
});
afterEach(async () => {
  if (redisUnavailable) return;
  await Promise.all(servers.splice(0).map((s) => s.close()));
  mock.reset();
});

/** A fresh key prefix per test: tests share one Redis (CI's REDIS_URL). */
function prefix(): string {
  return `ph-test-${process.pid}-${++prefixCounter}:`;
}

async function server(url: string, keyPrefix: string, options: PendingHooksOptions, register: (hooks: PendingHooks) => void): Promise<RunningServer & { store: RedisDedupeStore }> {
  const store = createRedisDedupeStore({ url, keyPrefix });
  const s = await startHooksServer({ api: { baseUrl: mock.url }, retry: { baseBackoffMs: 5, maxBackoffMs: 40 }, dedupe: store, ...options }, register);
  servers.push(s);
  return Object.assign(s, { store });
}

let counter = 0;
function pending(text = 'hello'): { id: string; body: string; webhookId: string } {
  const id = `rm-${++counter}-${Date.now()}`;
  mock.addPendingMessage({ id, text });
  return { id, body: pendingBody({ id, text }), webhookId: `wh-${id}` };
}

const passOn = (s: RunningServer) => `${s.url}/PassOnPendingMessage`;
const json = async (r: Response) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> });
const apiCallsFor = (id: string) => mock.calls.filter((call) => call.messageId === id);

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for: ${what}`);
    await sleep(20);
  }
}

describe.skipIf(redisUnavailable !== undefined)('Redis dedupe store: two servers sharing one Redis', () => {
  it('the same webhook id sent to both at once: one handler run, one API call, the same answer from both', async () => {
    const keyPrefix = prefix();
    const runs = new Map<string, number>();
    const register = (hooks: PendingHooks) =>
      hooks.on('PassOnPendingMessage', async (event) => {
        runs.set(event.message.id, (runs.get(event.message.id) ?? 0) + 1);
        await sleep(80);
        return event.message.text === 'bad' ? decide.delete('blocklist') : decide.commit('clean');
      });
    const a = await server(redis.url, keyPrefix, { timeoutMs: 1000 }, register);
    const b = await server(redis.url, keyPrefix, { timeoutMs: 1000 }, register);
    const messages = Array.from({ length: 20 }, (_, i) => pending(i % 4 === 0 ? 'bad' : 'fine'));
    const answers = await Promise.all(
      messages.map(async (m) => Promise.all([a, b].map(async (s) => json(await postSigned(passOn(s), m.body, { webhookId: m.webhookId }))))),
    );
    for (const [i, m] of messages.entries()) {
      const [fromA, fromB] = answers[i]!;
      expect(fromA!.status).toBe(200);
      expect(fromB).toEqual(fromA);
      expect(fromA!.body).toEqual(m.body.includes('"bad"') ? { action: 'delete', reason: 'blocklist', timed_out: false } : { action: 'commit', reason: 'clean', timed_out: false });
      expect(runs.get(m.id)).toBe(1);
      expect(apiCallsFor(m.id)).toHaveLength(1);
      expect(mock.commitCount(m.id)).toBe(1);
    }
    // A retry later, on either server, gets the remembered decision without another run or call.
    const again = messages[1]!;
    expect(await json(await postSigned(passOn(b), again.body, { webhookId: again.webhookId, attempt: 2 }))).toEqual(answers[1]![0]);
    expect(runs.get(again.id)).toBe(1);
    expect(apiCallsFor(again.id)).toHaveLength(1);
    expect(a.store.healthy && b.store.healthy).toBe(true);
    // Decisions are kept at least 60 s.
    const ttl = await admin.pttl(`${keyPrefix}d:${appKey}\n${again.webhookId}`);
    expect(ttl).toBeGreaterThan(60_000);
  });

  it('ack-first: the callback is in Redis before {"accepted": true} goes out, and settled once applied', async () => {
    const keyPrefix = prefix();
    const s = await server(redis.url, keyPrefix, { timeoutMs: 3000, answer: 'ack-first' }, (hooks) =>
      hooks.on('PassOnPendingMessage', async () => {
        await sleep(300);
        return decide.commit();
      }),
    );
    const m = pending();
    const answer = await json(await postSigned(passOn(s), m.body, { webhookId: m.webhookId }));
    expect(answer).toEqual({ status: 200, body: { accepted: true } });
    const key = `${appKey}\n${m.webhookId}`;
    const job = await admin.hgetall(`${keyPrefix}j:${key}`);
    expect(job.owner).toBe(s.store.instanceId);
    expect(JSON.parse(job.payload!)).toMatchObject({ event: { webhookId: m.webhookId, message: { id: m.id } } });
    expect(await admin.zscore(`${keyPrefix}jobs:${s.store.instanceId}`, key)).not.toBeNull();
    expect(await admin.sismember(`${keyPrefix}owners`, s.store.instanceId)).toBe(1);
    await mock.waitForState(m.id, 'committed', 3000);
    await until('the callback settled in Redis', async () => (await admin.exists(`${keyPrefix}j:${key}`)) === 0);
    expect(await admin.zscore(`${keyPrefix}jobs:${s.store.instanceId}`, key)).toBeNull();
    expect(await admin.get(`${keyPrefix}d:${key}`)).toMatch(/^A/);
  });

  it('a failed ack-first decision is retried until its budget ends, then recorded as failed and logged', async () => {
    const keyPrefix = prefix();
    const s = await server(redis.url, keyPrefix, { timeoutMs: 800, answer: 'ack-first' }, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
    const withdraw = mock.injectFaults({ action: 'commit', status: 503, count: Infinity });
    try {
      const m = pending();
      const sentAt = performance.now();
      expect(await json(await postSigned(passOn(s), m.body, { webhookId: m.webhookId }))).toEqual({ status: 200, body: { accepted: true } });
      const key = `${appKey}\n${m.webhookId}`;
      await until('the failure recorded in Redis', async () => (await admin.zscore(`${keyPrefix}failed`, key)) !== null, 5000);
      // Retried for the whole budget (backoff at most 40 ms over 800 ms), not given up early.
      expect(apiCallsFor(m.id).length).toBeGreaterThan(5);
      expect(performance.now() - sentAt).toBeGreaterThan(500);
      expect(await admin.hget(`${keyPrefix}j:${key}`, 'status')).toBe('failed');
      expect(await admin.get(`${keyPrefix}d:${key}`)).toMatch(/^N/);
      const line = s.logs.find((l) => l.msg === 'ack-first decision not applied within its budget: recorded as failed');
      expect(line).toMatchObject({ level: 50, webhookId: m.webhookId, messageId: m.id, applied: 'failed' });
      expect(mock.stateOf(m.id)).toBe('pending');
    } finally {
      withdraw();
    }
  });
});

describe.skipIf(redisUnavailable !== undefined)('Redis dedupe store: event webhooks on two servers', () => {
  it('the same event delivery (X-Webhook-Id) sent to both at once and retried: the handlers run once', async () => {
    const keyPrefix = prefix();
    const runs: string[] = [];
    const register = (name: string) => (hooks: PendingHooks) => {
      hooks.events.on('message.new', async (event) => {
        runs.push(`${name}:${event.message.id}`);
        await sleep(50);
      });
    };
    const a = await server(redis.url, keyPrefix, {}, register('a'));
    const b = await server(redis.url, keyPrefix, {}, register('b'));
    const body = JSON.stringify({ type: 'message.new', cid: 'messaging:general', message: { id: 'ev-1', text: 'hi' }, user: { id: 'u1' }, created_at: '2026-01-01T00:00:00Z' });
    const answers = await Promise.all([a, b].map((s) => postSigned(`${s.url}/events`, body, { webhookId: 'wh-event-1' })));
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    await until('the handler ran', () => runs.length >= 1);
    // A retry after the first delivery was handled, to either instance.
    await sleep(150);
    const retry = await postSigned(`${b.url}/events`, body, { webhookId: 'wh-event-1', attempt: 2 });
    expect(retry.status).toBe(200);
    await sleep(150);
    expect(runs).toHaveLength(1);
    // A different delivery id is a different delivery.
    await postSigned(`${a.url}/events`, body, { webhookId: 'wh-event-2' });
    await until('the second delivery ran', () => runs.length === 2);
  });
});

describe.skipIf(redisUnavailable !== undefined)('Redis dedupe store: ack-first callbacks of a stopped instance', () => {
  it("are taken over: the handler's decision while it can finish in time, else the fallback; past the budget, recorded as failed", async () => {
    const keyPrefix = prefix();
    const s = await server(redis.url, keyPrefix, { timeoutMs: 3000, answer: 'ack-first', fallback: 'delete' }, (hooks) =>
      hooks.on('PassOnPendingMessage', async () => {
        await sleep(500);
        return decide.commit('handler');
      }),
    );
    // What a process that died after answering `accepted` leaves in Redis (its alive key gone).
    const plant = async (m: { id: string; webhookId: string }, ageMs: number) => {
      const key = `${appKey}\n${m.webhookId}`;
      const arrivedAt = Date.now() - ageMs;
      const event = { method: 'PassOnPendingMessage', webhookId: m.webhookId, attempt: 1, apiKey: appKey, transport: 'rest', receivedAt: arrivedAt, message: { id: m.id, text: 'x' }, metadata: {}, requestInfo: {} };
      await admin.hset(`${keyPrefix}j:${key}`, 'owner', 'a-dead-instance', 'payload', JSON.stringify({ event, arrivedAt, deadline: arrivedAt + 3000 }));
      await admin.zadd(`${keyPrefix}jobs:a-dead-instance`, arrivedAt + 3000, key);
      await admin.sadd(`${keyPrefix}owners`, 'a-dead-instance');
      return key;
    };
    // Many callbacks of a live instance in flight do not hide the dead one's.
    await admin.set(`${keyPrefix}alive:a-live-instance`, '1', 'PX', 60_000);
    await admin.sadd(`${keyPrefix}owners`, 'a-live-instance');
    for (let i = 0; i < 150; i++) await admin.zadd(`${keyPrefix}jobs:a-live-instance`, Date.now() - 10_000 + i, `${appKey}\nlive-${i}`);
    const fresh = pending();
    const late = pending();
    const expired = pending();
    await plant(fresh, 500); // 2.5 s left: the handler (500 ms) has time
    await plant(late, 2600); // 400 ms left, the handler's deadline in 300: the fallback
    const expiredKey = await plant(expired, 4000); // budget over: nothing may be applied any more
    await mock.waitForState(fresh.id, 'committed', 4000);
    await mock.waitForState(late.id, 'deleted', 4000);
    await until('the expired callback recorded as failed', async () => (await admin.zscore(`${keyPrefix}failed`, expiredKey)) !== null);
    expect(mock.stateOf(expired.id)).toBe('pending');
    const decisions = s.logs.filter((l) => l.msg === 'decision' || (typeof l.msg === 'string' && l.msg.startsWith('ack-first decision not applied')));
    expect(decisions.find((l) => l.messageId === fresh.id)).toMatchObject({ action: 'commit', reason: 'handler', applied: 'applied' });
    expect(decisions.find((l) => l.messageId === late.id)).toMatchObject({ action: 'delete', reason: 'timeout', timedOut: true, applied: 'applied' });
    expect(decisions.find((l) => l.messageId === expired.id)).toMatchObject({ level: 50, applied: 'failed', webhookId: expired.webhookId });
    expect(s.logs.filter((l) => l.msg === 'ack-first callback of a stopped instance taken over')).toHaveLength(3);
    // The dead instance is forgotten once nothing of it is left.
    expect(await admin.sismember(`${keyPrefix}owners`, 'a-dead-instance')).toBe(0);
    expect(await admin.zcard(`${keyPrefix}jobs:a-live-instance`)).toBe(150);
    for (const m of [fresh, late, expired]) expect(mock.commitCount(m.id)).toBeLessThanOrEqual(1);
  });
});

describe.skipIf(redisUnavailable !== undefined)('Redis dedupe store: Redis stopped mid-run', () => {
  it('answers continue and decisions are applied from local memory, and the store goes back to Redis when it returns', async () => {
    const own = await startTestRedis({ own: true });
    try {
      const keyPrefix = prefix();
      const runs = new Map<string, number>();
      const register = (hooks: PendingHooks) =>
        hooks.on('PassOnPendingMessage', async (event) => {
          runs.set(event.message.id, (runs.get(event.message.id) ?? 0) + 1);
          await sleep(30);
          return decide.commit();
        });
      const a = await server(own.url, keyPrefix, { timeoutMs: 500 }, register);
      const b = await server(own.url, keyPrefix, { timeoutMs: 500 }, register);
      const round = async (count: number) => {
        const sent = Array.from({ length: count }, () => pending());
        const answers = await Promise.all(sent.map(async (m, i) => json(await postSigned(passOn(i % 2 ? a : b), m.body, { webhookId: m.webhookId }))));
        for (const [i, m] of sent.entries()) {
          expect(answers[i]).toEqual({ status: 200, body: { action: 'commit', timed_out: false } });
          expect(mock.commitCount(m.id)).toBe(1);
        }
        return sent;
      };
      await round(10);
      expect(a.store.healthy).toBe(true);

      // Stopped while callbacks are in flight (claimed in Redis, decided after it went).
      const crossing = round(20);
      await sleep(10);
      await own.stop();
      await crossing;
      const whileDown = await round(20);
      expect(a.store.healthy).toBe(false);
      expect(b.store.healthy).toBe(false);
      const errors = a.logs.filter((l) => l.level === 50 && typeof l.msg === 'string' && l.msg.startsWith('redis'));
      expect(errors.length).toBeGreaterThanOrEqual(1);
      // Rate-limited: not a line per callback.
      expect(errors.length).toBeLessThan(5);
      // A retry on the same server still gets the remembered decision while Redis is down.
      const retried = whileDown[1]!;
      const retryServer = 1 % 2 ? a : b;
      expect(await json(await postSigned(passOn(retryServer), retried.body, { webhookId: retried.webhookId, attempt: 2 }))).toEqual({ status: 200, body: { action: 'commit', timed_out: false } });
      expect(runs.get(retried.id)).toBe(1);

      await own.restart();
      await until('both stores healthy again', () => a.store.healthy && b.store.healthy, 10_000);
      expect(a.logs.some((l) => l.msg === 'redis reachable again: shared dedupe resumed')).toBe(true);
      // Shared again: a callback decided on one server is known to the other.
      const after = await round(10);
      const m = after[0]!;
      const key = `${appKey}\n${m.webhookId}`;
      await until('the decision written to Redis', async () => {
        const probe = new Redis(own.url);
        try {
          return (await probe.get(`${keyPrefix}d:${key}`)) !== null;
        } finally {
          probe.disconnect();
        }
      });
      expect(await json(await postSigned(passOn(a), m.body, { webhookId: m.webhookId, attempt: 2 }))).toEqual({ status: 200, body: { action: 'commit', timed_out: false } });
      expect(await json(await postSigned(passOn(b), m.body, { webhookId: m.webhookId, attempt: 3 }))).toEqual({ status: 200, body: { action: 'commit', timed_out: false } });
      expect(runs.get(m.id)).toBe(1);
      expect(apiCallsFor(m.id)).toHaveLength(1);
    } finally {
      await Promise.all(servers.splice(0).map((s) => s.close()));
      await own.stop();
    }
  }, 30_000);

  it('a Redis that stops answering (SIGSTOP) holds no callback past its budget', async () => {
    const own = await startTestRedis({ own: true });
    try {
      const s = await server(own.url, prefix(), { timeoutMs: 500 }, (hooks) => hooks.on('PassOnPendingMessage', () => decide.commit()));
      const warm = pending();
      expect((await json(await postSigned(passOn(s), warm.body, { webhookId: warm.webhookId }))).status).toBe(200);
      own.pause();
      const sent = Array.from({ length: 20 }, () => pending());
      const timed = await Promise.all(
        sent.map(async (m) => {
          const started = performance.now();
          const answer = await json(await postSigned(passOn(s), m.body, { webhookId: m.webhookId }));
          return { answer, ms: performance.now() - started };
        }),
      );
      for (const [i, m] of sent.entries()) {
        expect(timed[i]!.answer).toEqual({ status: 200, body: { action: 'commit', timed_out: false } });
        expect(timed[i]!.ms).toBeLessThan(500);
        expect(mock.commitCount(m.id)).toBe(1);
      }
      expect(s.store.healthy).toBe(false);
      own.resume();
      await until('healthy again', () => s.store.healthy, 10_000);
    } finally {
      own.resume();
      await Promise.all(servers.splice(0).map((s) => s.close()));
      await own.stop();
    }
  }, 30_000);
});
