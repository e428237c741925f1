/**
 * Are the shedding defaults right? (issue #12 item 3: maxInFlight 1000, event-loop delay 150 ms)
 *
 *   npx tsx bench/shedding.ts [--seconds 10] [--rate 6000] [--connections 500,2000] [--modes default,off] [--cpu-ms 1]
 *
 * pending-hooks (bench/servers/pending-hooks.ts: REST, a handler sleeping 50–300 ms, decisions
 * applied through the mock API bench/servers/mock-api.ts, timeoutMs 500) pinned to CPU 0; this
 * process and the mock API on CPU 1. Open loop: request k is due at start + k/rate and sent at
 * once on a free one of N keep-alive connections; when all N are busy it is not sent (counted as
 * `no connection`: Stream would have to wait or open more), so the latency is the server's, from
 * the send. Each mode × connection count gets a fresh server, a
 * 2 s warm-up at a tenth of the rate, then `--seconds` measured. Reported per run: answers past
 * the 500 ms budget (counted from the due time), 503 `overloaded` share, and
 * successful decisions per second (200 with the handler's applied decision, not a fallback).
 * `off` is `shedding: false`; `default` the defaults; `N,MS` a maxInFlight and delay of your own.
 * `--cpu-ms` makes the handler compute that long first: with 1 ms the server saturates near
 * 900 callbacks/s, which one load-generator core can overrun (it cannot overrun the sleeping
 * handler's ~5,700/s in-flight bound on this machine).
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { benchApiKey, restPath } from './lib/common.js';
import { hasTaskset } from './lib/machine.js';
import { buildPayloads } from './lib/payloads.js';
import { startServer } from './lib/server-process.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '6000' },
    connections: { type: 'string', default: '500,2000' },
    modes: { type: 'string', default: 'default,off' },
    handler: { type: 'string', default: '50-300' },
    'cpu-ms': { type: 'string', default: '0' },
  },
});
const seconds = Number(args.seconds);
const rate = Number(args.rate);
const budgetMs = 500;
const pin = hasTaskset();
if (pin) execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
const payloads = buildPayloads(2000);
const mock = await startServer({ script: 'mock-api', cpu: pin ? 1 : undefined });
const apiUrl = `http://127.0.0.1:${mock.port}`;

interface Outcome {
  mode: string;
  connections: number;
  sent: number;
  answered: number;
  decisions: number;
  fallbacks: number;
  overloaded: number;
  notApplied: number;
  other: number;
  errors: number;
  noConnection: number;
  pastBudgetFromDue: number;
  p99FromDueMs: number;
  seconds: number;
  serverCpu: number | undefined;
}

const connectionsOf = new WeakMap<Pool, number>();

async function drive(pool: Pool, ratePerSecond: number, runSeconds: number, out?: Outcome): Promise<void> {
  const total = Math.round(ratePerSecond * runSeconds);
  const start = performance.now();
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  let k = 0;
  let inFlight = 0;
  const limit = connectionsOf.get(pool)!;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (k < total && start + (k * 1000) / ratePerSecond <= now) {
        const due = start + (k * 1000) / ratePerSecond;
        const i = k++ % payloads.count;
        if (inFlight >= limit) {
          if (out) out.noConnection++;
          continue;
        }
        inFlight++;
        pending.push(
          (async () => {
            try {
              const response = await pool.request({
                method: 'POST',
                path: restPath,
                headers: { 'content-type': 'application/json', 'x-signature': payloads.rest.signatures[i]!, 'x-api-key': benchApiKey, 'x-webhook-id': `shed-${k}-${Math.random()}` },
                body: payloads.rest.bodies[i]!,
                headersTimeout: 6000,
              } as Parameters<Pool['request']>[0]);
              const text = await response.body.text();
              const end = performance.now();
              if (!out) return;
              out.answered++;
              const fromDue = end - due; // sent at its due time (or within the 1 ms tick)
              latencies.push(fromDue);
              if (fromDue > budgetMs) out.pastBudgetFromDue++;
              if (response.statusCode === 200) {
                if (text.includes('"timed_out":true')) out.fallbacks++;
                else out.decisions++;
              } else if (response.statusCode === 503 && text.includes('overloaded')) out.overloaded++;
              else if (response.statusCode === 503 && text.includes('decision_not_applied')) out.notApplied++;
              else out.other++;
            } catch {
              if (out) out.errors++;
            } finally {
              inFlight--;
            }
          })(),
        );
      }
      if (k < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  if (out) out.sent = total;
  await Promise.all(pending);
  if (out) {
    out.seconds = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    out.p99FromDueMs = latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN;
  }
}

/**
 * Opens every connection before the measurement, as Stream's keep-alive clients have them:
 * opened under overload instead, they overflow node's listen backlog (511) and their SYNs are
 * retried after 1, 3, 7 s — lateness no shedding can see (the first measurement showed it).
 */
async function openConnections(pool: Pool, connections: number): Promise<void> {
  await Promise.all(
    Array.from({ length: connections }, async (_, j) => {
      const i = j % payloads.count;
      try {
        const response = await pool.request({
          method: 'POST',
          path: restPath,
          headers: { 'content-type': 'application/json', 'x-signature': payloads.rest.signatures[i]!, 'x-api-key': benchApiKey, 'x-webhook-id': `open-${j}-${Math.random()}` },
          body: payloads.rest.bodies[i]!,
          headersTimeout: 20_000,
        } as Parameters<Pool['request']>[0]);
        await response.body.dump();
      } catch {
        // A refused one still opened its connection (or will be opened on first use).
      }
    }),
  );
}

/** One mode at one connection count, on a fresh server. */
async function run(mode: string, connections: number): Promise<Outcome> {
  const server = await startServer({
    script: 'pending-hooks',
    cpu: pin ? 0 : undefined,
    env: { PH_BENCH_API_URL: apiUrl, PH_BENCH_HANDLER_MS: args.handler!, PH_BENCH_HANDLER_CPU_MS: args['cpu-ms']!, ...(mode === 'default' ? {} : { PH_BENCH_SHEDDING: mode }) },
  });
  const pool = new Pool(`http://127.0.0.1:${server.port}`, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  connectionsOf.set(pool, connections);
  try {
    await openConnections(pool, connections);
    await drive(pool, rate / 10, 2);
    const out: Outcome = { mode, connections, sent: 0, answered: 0, decisions: 0, fallbacks: 0, overloaded: 0, notApplied: 0, other: 0, errors: 0, noConnection: 0, pastBudgetFromDue: 0, p99FromDueMs: 0, seconds: 0, serverCpu: undefined };
    const cpu0 = server.cpuSeconds();
    await drive(pool, rate, seconds, out);
    const cpu1 = server.cpuSeconds();
    out.serverCpu = cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / out.seconds;
    return out;
  } finally {
    await pool.destroy();
    await server.stop();
  }
}

const results: Outcome[] = [];
for (const connections of args.connections!.split(',').map(Number)) {
  for (const mode of args.modes!.split(',')) {
    const out = await run(mode, connections);
    results.push(out);
    console.log(
      `${mode.padEnd(8)} ${String(connections).padStart(5)} conns: ${out.answered} answered of ${out.sent - out.noConnection} sent (${out.sent} due) in ${out.seconds.toFixed(1)} s; ` +
        `past ${budgetMs} ms ${out.pastBudgetFromDue} (p99 ${out.p99FromDueMs.toFixed(0)} ms); 503 overloaded ${((100 * out.overloaded) / Math.max(1, out.answered)).toFixed(1)}%; ` +
        `decisions ${Math.round(out.decisions / out.seconds)}/s; no free connection ${out.noConnection}; fallbacks ${out.fallbacks}; not applied ${out.notApplied}; errors ${out.errors}; server CPU ${out.serverCpu === undefined ? '?' : `${Math.round(out.serverCpu * 100)}%`}`,
    );
  }
}
console.log(`\n| shedding | connections | due | sent | answers past ${budgetMs} ms | p99 | 503 overloaded | decisions/s | fallbacks | 503 not applied | errors |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(
    `| ${r.mode} | ${r.connections} | ${r.sent} | ${r.sent - r.noConnection} | ${r.pastBudgetFromDue} | ${r.p99FromDueMs.toFixed(0)} ms | ${((100 * r.overloaded) / Math.max(1, r.answered)).toFixed(1)}% | ${Math.round(r.decisions / r.seconds)} | ${r.fallbacks} | ${r.notApplied} | ${r.errors} |`,
  );
}
await mock.stop();
