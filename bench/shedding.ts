/**
 * Are the shedding defaults right? (issue #12 item 3: maxInFlight 1000, event-loop delay 150 ms)
 *
 *   npx tsx bench/shedding.ts [--seconds 10] [--rate 6000] [--connections 500,2000] [--modes default,off] [--cpu-ms 1]
 *
 * pending-hooks (bench/servers/pending-hooks.ts: REST, a handler sleeping 50–300 ms, decisions
 * applied through the mock API bench/servers/mock-api.ts, timeoutMs 500) pinned to CPU 0; this
 * process and the mock API on CPU 1. Open loop on the package's load driver
 * (src/loadtest/load-driver.ts, `whenAllBusy: 'skip'`): request k is due at start + k/rate and
 * sent at once on a free one of N keep-alive connections, opened before the measurement; when
 * all N are busy it is not sent (counted as `no connection`: Stream would have to wait or open
 * more), so the latency is the server's, from the due time. Each mode × connection count gets
 * a fresh server, a
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
import { readPassOnAnswer } from '../src/emulator/callback-encoding.js';
import { loadLatencyRecorders } from '../src/loadtest/latency.js';
import { driveLoad } from '../src/loadtest/load-driver.js';
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
const requests = payloads.rest.bodies.map((body, i) => ({
  body,
  headers: { 'content-type': 'application/json', 'x-signature': payloads.rest.signatures[i]!, 'x-api-key': benchApiKey },
}));
const latency = await loadLatencyRecorders('bench/shedding.ts');
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

async function drive(port: number, connections: number, ratePerSecond: number, runSeconds: number, tag: string, out?: Outcome): Promise<void> {
  const run = await driveLoad({
    origin: `http://127.0.0.1:${port}`,
    path: restPath,
    requests,
    webhookIdPrefix: `${tag}-`,
    connections,
    rate: ratePerSecond,
    durationS: runSeconds,
    whenAllBusy: 'skip',
    requestTimeoutMs: 6000,
    latency,
    onAnswer: ({ status, contentType, body, latencyMs }) => {
      if (!out) return;
      out.answered++;
      if (latencyMs > budgetMs) out.pastBudgetFromDue++;
      const text = body.toString('utf8');
      if (status === 200) {
        if (readPassOnAnswer(body, contentType)?.timedOut === true) out.fallbacks++;
        else out.decisions++;
      } else if (status === 503 && text.includes('overloaded')) out.overloaded++;
      else if (status === 503 && text.includes('decision_not_applied')) out.notApplied++;
      else out.other++;
    },
  });
  if (!out) return;
  out.sent = run.sent + run.skipped;
  out.noConnection = run.skipped;
  out.errors = run.networkErrors + run.timeouts + run.unanswered;
  out.seconds = run.seconds;
  out.p99FromDueMs = run.latency.p99;
}

/** One mode at one connection count, on a fresh server. */
async function run(mode: string, connections: number): Promise<Outcome> {
  const server = await startServer({
    script: 'pending-hooks',
    cpu: pin ? 0 : undefined,
    env: { PH_BENCH_API_URL: apiUrl, PH_BENCH_HANDLER_MS: args.handler!, PH_BENCH_HANDLER_CPU_MS: args['cpu-ms']!, ...(mode === 'default' ? {} : { PH_BENCH_SHEDDING: mode }) },
  });
  try {
    // The driver opens every connection before its clock starts, as Stream's keep-alive clients
    // have them: opened under overload instead, they overflow node's listen backlog (511) and
    // their SYNs are retried after 1, 3, 7 s — lateness no shedding can see.
    await drive(server.port, connections, rate / 10, 2, `warm-${mode}-${connections}`);
    const out: Outcome = { mode, connections, sent: 0, answered: 0, decisions: 0, fallbacks: 0, overloaded: 0, notApplied: 0, other: 0, errors: 0, noConnection: 0, pastBudgetFromDue: 0, p99FromDueMs: 0, seconds: 0, serverCpu: undefined };
    const cpu0 = server.cpuSeconds();
    await drive(server.port, connections, rate, seconds, `shed-${mode}-${connections}`, out);
    const cpu1 = server.cpuSeconds();
    out.serverCpu = cpu0 === undefined || cpu1 === undefined ? undefined : (cpu1 - cpu0) / out.seconds;
    return out;
  } finally {
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
