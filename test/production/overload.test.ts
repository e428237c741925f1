import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMockStreamApi, type MockStreamApi } from '../../src/emulator/index.js';
import { appKey, appSecret, pendingBody, sleep } from '../support/servers.js';
import { streamSignature } from '../support/sign-fixture.js';

/**
 * Issue #12's production tests, with real servers and real HTTP clients: a burst over
 * `maxInFlight`, and a hung or slow Stream API under 200 concurrent callbacks. Every latency is
 * measured from the client (request sent → whole answer read), as Stream sees it. Margins are
 * generous (timeoutMs + 150 ms) because this machine is shared: the bounds are about "never
 * queued past the budget", not about milliseconds; the server's own logged latencies are reported
 * beside them. The server is a `pending-hooks serve` process of its own: in the test's process its
 * event loop would also run the 400 clients, and their work would be counted as its latency.
 */

/** Computes HANDLER_CPU_MS, sleeps HANDLER_MIN_MS–HANDLER_MAX_MS (0 by default; cut short by the deadline), then commits. */
const handlers = `
export default {
  async PassOnPendingMessage(event, { signal }) {
    const until = performance.now() + Number(process.env.HANDLER_CPU_MS ?? 0);
    while (performance.now() < until) {}
    const min = Number(process.env.HANDLER_MIN_MS ?? 0), max = Number(process.env.HANDLER_MAX_MS ?? 0);
    if (max > 0) await new Promise((resolve) => {
      const timer = setTimeout(resolve, min + Math.random() * (max - min));
      signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
    return { action: 'commit' };
  },
};
`;

interface ServeProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<unknown>;
  close(): Promise<void>;
}

let module: string;

/** \`pending-hooks serve\` on a free port, deciding through the mock API, logging at info. */
async function serve(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['bin/pending-hooks.js', 'serve', module, '--port', '0', '--base-url', mock.url, '--timeout-ms', String(timeoutMs), ...args], {
    env: { ...process.env, STREAM_API_KEY: appKey, STREAM_API_SECRET: appSecret, LOG_LEVEL: 'info', REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const started = performance.now();
  let match: RegExpExecArray | null = null;
  while (!(match = /"address":"(http:\/\/[^"]+)"/.exec(output))) {
    if (child.exitCode !== null || performance.now() - started > 20_000) throw new Error(`serve did not start:\n${output}`);
    await sleep(20);
  }
  // Warm: a deployed server has run its code paths (JIT) long before a burst; 30 callbacks in turn.
  for (let i = 0; i < 30; i++) {
    const id = `warm-${i}-${Math.random().toString(36).slice(2, 8)}`;
    mock.addPendingMessage({ id });
    const body = pendingBody({ id });
    const response = await fetch(`${match[1]!}/PassOnPendingMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature': streamSignature(appSecret, body), 'x-api-key': appKey, 'x-webhook-id': id },
      body,
    });
    await response.arrayBuffer();
  }
  return {
    url: match[1]!,
    child,
    output: () => output,
    exited,
    async close() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Latencies (ms) the server logged for its decisions, from its JSON log lines. */
function loggedLatencies(s: ServeProcess, msg?: string): number[] {
  const out: number[] = [];
  for (const line of s.output().split('\n')) {
    if (!line.includes('"latencyMs"')) continue;
    try {
      const parsed = JSON.parse(line) as { latencyMs?: number; msg?: string };
      if (typeof parsed.latencyMs === 'number' && (msg === undefined || parsed.msg === msg)) out.push(parsed.latencyMs);
    } catch {}
  }
  return out;
}

const timeoutMs = 500;
const margin = 150;
let mock: MockStreamApi;
let server: ServeProcess | undefined;
let agent: Agent;

beforeAll(async () => {
  mock = await createMockStreamApi({ apps: [{ apiKey: appKey, secret: appSecret }] });
  const dir = await mkdtemp(join(tmpdir(), 'ph-production-'));
  module = join(dir, 'handlers.mjs');
  await writeFile(module, handlers);
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await agent?.destroy();
  mock.reset();
});
afterAll(async () => {
  await mock.close();
});

interface Answer {
  id: string;
  status: number;
  body: Record<string, unknown>;
  retryAfter: string | undefined;
  ms: number;
}

/** `count` signed callbacks sent at once, each on its own connection. */
async function burst(url: string, count: number, text = 'hello there'): Promise<Answer[]> {
  agent = new Agent({ connections: count, pipelining: 1, keepAliveTimeout: 30_000 });
  // Stream keeps its connections alive: open them first (GET /healthz on each), so the burst
  // measures the server, not this process setting up hundreds of TCP connections.
  await Promise.all(
    Array.from({ length: count }, async () => {
      const response = await request(`${url}/healthz`, { dispatcher: agent });
      await response.body.dump();
    }),
  );
  const bodies = Array.from({ length: count }, (_, i) => {
    const id = `burst-${i}-${Math.random().toString(36).slice(2, 8)}`;
    mock.addPendingMessage({ id, text });
    return { id, body: pendingBody({ id, text }) };
  });
  return Promise.all(
    bodies.map(async ({ id, body }, i) => {
      const started = performance.now();
      const response = await request(`${url}/PassOnPendingMessage`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', 'x-signature': streamSignature(appSecret, body), 'x-api-key': appKey, 'x-webhook-id': `wh-${id}-${i}` },
        body,
      });
      const text = await response.body.text();
      const ms = performance.now() - started;
      const retryAfter = response.headers['retry-after'];
      return { id, status: response.statusCode, body: JSON.parse(text) as Record<string, unknown>, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined, ms };
    }),
  );
}

const max = (values: number[]) => (values.length === 0 ? 0 : Math.max(...values));
const median = (values: number[]) => (values.length === 0 ? 0 : [...values].sort((a, b) => a - b)[values.length >> 1]!);
const countBy = (answers: Answer[]) => {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return JSON.stringify(counts);
};

describe('a burst over maxInFlight', () => {
  it('sheds the surplus at once with 503 overloaded + Retry-After, and answers every accepted callback within its budget', { timeout: 30_000 }, async () => {
    server = await serve(['--max-in-flight', '50'], { HANDLER_MIN_MS: '100', HANDLER_MAX_MS: '300' });
    const answers = await burst(server.url, 400);
    const shed = answers.filter((a) => a.status === 503);
    const accepted = answers.filter((a) => a.status === 200);
    const logged = loggedLatencies(server);
    console.log(
      `burst of 400, maxInFlight 50: ${accepted.length} accepted (client-measured max ${max(accepted.map((a) => a.ms)).toFixed(0)} ms, ` +
        `server-logged max ${max(logged).toFixed(0)} ms), ${shed.length} shed (client-measured median ${median(shed.map((a) => a.ms)).toFixed(0)} ms, max ${max(shed.map((a) => a.ms)).toFixed(0)} ms)`,
    );
    expect(accepted.length + shed.length).toBe(400);
    expect(accepted.length).toBeGreaterThanOrEqual(50);
    expect(shed.length).toBeGreaterThan(0);
    for (const a of shed) {
      expect(a.body.error, JSON.stringify(a)).toBe('overloaded');
      expect(a.retryAfter, JSON.stringify(a)).toMatch(/^\d+$/);
    }
    // Shed answers come before any handler could have run; the budget is far off.
    expect(median(shed.map((a) => a.ms))).toBeLessThan(timeoutMs / 2);
    expect(max(shed.map((a) => a.ms))).toBeLessThan(timeoutMs);
    // Accepted: decided (commit) or the fallback, never later than the budget (+ margin), applied once.
    for (const a of accepted) {
      expect(a.ms, JSON.stringify(a)).toBeLessThanOrEqual(timeoutMs + margin);
      if (a.body.action === 'commit') expect(mock.commitCount(a.id), a.id).toBe(1);
      else expect(a.body).toMatchObject({ action: 'keep_pending', timed_out: true });
    }
    // Shed callbacks ran no handler and made no API call.
    for (const a of shed) expect(mock.stateOf(a.id), a.id).toBe('pending');
  });
});

interface SentAnswer extends Answer {
  /** When it was sent, ms after the load began. */
  at: number;
}

/** Open loop: `rate` signed callbacks a second for `seconds` on `connections` kept-alive connections (none sent when all are busy). */
async function sustained(url: string, rate: number, seconds: number, connections: number): Promise<{ answers: SentAnswer[]; unsent: number }> {
  agent = new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000 });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const response = await request(`${url}/healthz`, { dispatcher: agent });
      await response.body.dump();
    }),
  );
  const answers: Promise<SentAnswer>[] = [];
  let busy = 0;
  let unsent = 0;
  const start = performance.now();
  for (let k = 0; k < rate * seconds; k++) {
    const due = start + (k * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    if (busy >= connections) {
      unsent++;
      continue;
    }
    const id = `sustained-${k}-${Math.random().toString(36).slice(2, 8)}`;
    mock.addPendingMessage({ id });
    const body = pendingBody({ id });
    busy++;
    answers.push(
      (async () => {
        const sent = performance.now();
        const response = await request(`${url}/PassOnPendingMessage`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', 'x-signature': streamSignature(appSecret, body), 'x-api-key': appKey, 'x-webhook-id': `wh-${id}` },
          body,
        });
        const text = await response.body.text();
        busy--;
        return { id, status: response.statusCode, body: JSON.parse(text) as Record<string, unknown>, retryAfter: undefined, ms: performance.now() - sent, at: sent - start };
      })(),
    );
  }
  return { answers: await Promise.all(answers), unsent };
}

describe('a handler that computes, offered three times what it decides', () => {
  // 3 ms of CPU per callback (~300/s on one core) and 50–150 ms of waiting; 900/s offered for 4 s.
  // A fixed bound of 1000 would admit ~1000 in flight (over 3 s of work); the learned limit
  // should fall to what is answered in time within about a second.
  it('the learned in-flight limit sheds the surplus and answers the accepted ones within the budget once learned', { timeout: 40_000 }, async () => {
    server = await serve([], { HANDLER_CPU_MS: '3', HANDLER_MIN_MS: '50', HANDLER_MAX_MS: '150' });
    const { answers, unsent } = await sustained(server.url, 900, 4, 400);
    const learned = answers.filter((a) => a.at >= 1500);
    const accepted = learned.filter((a) => a.status === 200);
    const shed = learned.filter((a) => a.status === 503 && a.body.error === 'overloaded');
    const late = accepted.filter((a) => a.ms > timeoutMs + margin);
    const fallbacks = accepted.filter((a) => a.body.timed_out === true);
    console.log(
      `sustained 900/s on a ~300/s handler, learned limit: after 1.5 s ${accepted.length} accepted (${fallbacks.length} fallbacks, ${late.length} later than ${timeoutMs + margin} ms, ` +
        `max ${max(accepted.map((a) => a.ms)).toFixed(0)} ms, server-logged max ${max(loggedLatencies(server)).toFixed(0)} ms), ${shed.length} shed; ` +
        `first 1.5 s: ${answers.filter((a) => a.at < 1500 && a.ms > timeoutMs + margin).length} late of ${answers.filter((a) => a.at < 1500).length}; unsent ${unsent}; statuses ${countBy(learned)}`,
    );
    expect(shed.length).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(0);
    expect(late.map((a) => Math.round(a.ms))).toEqual([]);
    // Decided by the handler, not by the deadline: the limit keeps work it cannot finish out.
    expect(fallbacks.length).toBeLessThanOrEqual(accepted.length * 0.05);
  });
});

describe('a hung or slow Stream API, 200 concurrent callbacks', () => {
  const start = () => serve([]);

  it('slow API (150 ms per call): every callback answered with its applied decision within the budget', { timeout: 30_000 }, async () => {
    server = await start();
    mock.injectFaults({ delayMs: 150, count: Infinity });
    const answers = await burst(server.url, 200);
    const logged = loggedLatencies(server);
    console.log(`slow API: client-measured max ${max(answers.map((a) => a.ms)).toFixed(0)} ms, median ${median(answers.map((a) => a.ms)).toFixed(0)} ms; server-logged max ${max(logged).toFixed(0)} ms`);
    for (const a of answers) {
      expect(a.ms, JSON.stringify(a)).toBeLessThanOrEqual(timeoutMs + margin);
      expect(a.status, JSON.stringify(a)).toBe(200);
      expect(a.body, JSON.stringify(a)).toMatchObject({ action: 'commit', timed_out: false });
      expect(mock.commitCount(a.id), a.id).toBe(1);
    }
  });

  it('hung API: every callback answered within the budget — 503 decision_not_applied (Stream retries), never late', { timeout: 30_000 }, async () => {
    server = await start();
    const withdraw = mock.injectFaults({ delayMs: 20_000, count: Infinity });
    try {
      const answers = await burst(server.url, 200);
      // The default logger writes its lines in batches: wait for the last ones.
      for (let waited = 0; loggedLatencies(server, 'decision not applied').length < answers.length && waited < 3000; waited += 50) await sleep(50);
      const logged = loggedLatencies(server, 'decision not applied');
      console.log(
        `hung API: client-measured max ${max(answers.map((a) => a.ms)).toFixed(0)} ms, median ${median(answers.map((a) => a.ms)).toFixed(0)} ms; ` +
          `server-logged max ${max(logged).toFixed(0)} ms; statuses ${countBy(answers)}`,
      );
      // Measured on the shared 2-core machine (the clients and the mock API in this process):
      // client-measured max 510–533 ms, server-logged max 500–518 ms on the 500 ms budget. The
      // answers of a hung API's calls go out at the deadline and the calls are torn down after
      // (stream-api-client.ts); before that, the last answers came ~150 ms late. The margin is
      // for this machine's noise, not for queueing.
      expect(max(logged)).toBeLessThanOrEqual(timeoutMs + margin);
      expect(logged.length).toBe(200);
      for (const a of answers) {
        expect(a.ms, JSON.stringify(a)).toBeLessThanOrEqual(timeoutMs + margin);
        // The decision could not be applied: the contract answers 503 so Stream retries.
        expect(a.status, JSON.stringify(a)).toBe(503);
        expect(a.body.error, JSON.stringify(a)).toBe('decision_not_applied');
      }
    } finally {
      withdraw();
    }
  });
});
