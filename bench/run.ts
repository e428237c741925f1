/**
 * The benchmark suite: `npm run bench` (3 rounds of 8 s per row) or `npm run bench -- --quick`
 * (1 round of 1 s). One run, one machine, the same signed payloads for every contender.
 * Prints a markdown table (req/s and ratios vs the floor, p99s, targets) and writes
 * `<out>/results.json`.
 *
 * - Each contender is a standalone server script (bench/servers/) started fresh for every row
 *   and round, pinned to CPU 0 with taskset; this process (the load generator) pins itself
 *   to CPU 1. Other processes' CPU use is measured during every run (from /proc/stat); a
 *   contended run is repeated, and reported as contended if it stays so.
 * - Before a row is loaded a probe checks it decides correctly (commit / delete) and refuses
 *   a wrong signature; under load every answer must be 2xx with a decision in its body. A row
 *   that fails either is reported as failed, never as fast.
 * - Closed loop (50 keep-alive connections, the package's lean load driver,
 *   src/loadtest/load-driver.ts): warm-up, then a measured run; rounds are interleaved across
 *   rows (so a slow minute of the machine hits every row) and the median req/s is reported.
 * - Then open-loop rounds, same scheme (fresh server, warm-up, 3 s unmeasured lead-in at the
 *   rate, 4 s for the first so the generator's own open-loop code is warm too; quick: 1 s): a
 *   fixed rate of 25% of the floor's median capacity, the same for every row, latency
 *   counted from each request's due time (no coordinated omission); the median over rounds
 *   of p50/p99 answer latency is reported (one GC pause can move a single round's p99).
 * - Then the micro-benchmarks (bench/micro.ts).
 *
 * Options: --quick, --rounds N, --duration S, --warmup S, --open-duration S,
 * --connections N, --load-fraction F, --rows id,id, --out DIR (default bench/out),
 * --no-micro, --no-pin, --strict (exit 1 when a target is missed), --quiet-wait S (wait up
 * to S s for an idle machine before each measurement; default 30, quick 0), --retries N
 * (repeat a measurement during which other processes used more than 0.15 of a core;
 * default 2, quick 0), --baseline REF (each pending-hooks row also runs from that commit's build,
 * right after it in every round, and the report pairs them: bench/lib/baseline.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LatencySummary } from '../src/loadtest/latency.js';
import { closedLoop, describeFailure, failed, openLoop, type LoadResult, type LoadTarget } from './lib/load.js';
import { cpuBusy, cpuSnapshot, hasTaskset, machineInfo, waitForQuiet, type MachineInfo } from './lib/machine.js';
import { buildPayloads } from './lib/payloads.js';
import { sourceState } from './lib/source-state.js';
import { probe, targetOf } from './lib/probe.js';
import { rows as allRows, type RowSpec } from './lib/rows.js';
import { baselineTwin, compareWithBaseline, prepareBaseline, runsPendingHooks, type Baseline } from './lib/baseline.js';
import { compileServers, repoRoot, startServer, type ServerProcess } from './lib/server-process.js';
import { startRedis, type RedisProcess } from './lib/redis-process.js';
import { fmtInt, fmtMs, fmtPct, fmtRatio, median, spread } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'open-duration': { type: 'string' },
    connections: { type: 'string' },
    'load-fraction': { type: 'string' },
    rows: { type: 'string' },
    out: { type: 'string' },
    'no-micro': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    'quiet-wait': { type: 'string' },
    retries: { type: 'string' },
    baseline: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (args.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
  process.exit(0);
}

const num = (value: string | undefined, fallback: number) => {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new RangeError(`bad number: ${value}`);
  return parsed;
};

const count = (value: string | undefined, fallback: number) => {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new RangeError(`bad number: ${value}`);
  return parsed;
};

export interface BenchSettings {
  quick: boolean;
  rounds: number;
  warmupSeconds: number;
  durationSeconds: number;
  openSeconds: number;
  connections: number;
  loadFraction: number;
  payloadCount: number;
  /** Seconds to wait for an idle machine before each measurement (0: don't wait). */
  quietWaitSeconds: number;
  /** Re-runs of a measurement during which other processes used the CPUs. */
  retries: number;
  /** Other processes' CPU use (in cores) above which a measurement counts as contended. */
  contentionCores: number;
  /** Unmeasured open-loop run at the measured rate before each open-loop round. */
  leadInSeconds: number;
}

const settings: BenchSettings = {
  quick: args.quick,
  rounds: Math.round(num(args.rounds, args.quick ? 1 : 3)),
  warmupSeconds: num(args.warmup, args.quick ? 0.3 : 2),
  durationSeconds: num(args.duration, args.quick ? 1 : 8),
  openSeconds: num(args['open-duration'], args.quick ? 1 : 8),
  connections: Math.round(num(args.connections, 50)),
  loadFraction: num(args['load-fraction'], 0.25),
  payloadCount: 2000,
  quietWaitSeconds: count(args['quiet-wait'], args.quick ? 0 : 30),
  retries: Math.round(count(args.retries, args.quick ? 0 : 2)),
  contentionCores: 0.15,
  leadInSeconds: args.quick ? 0.5 : 3,
};
const outDir = resolve(repoRoot, args.out ?? 'bench/out');
mkdirSync(outDir, { recursive: true });

// --- pinning: servers on CPU 0, this process (the load generator) on CPU 1 ---
const canPin = !args['no-pin'] && hasTaskset() && cpus().length >= 2;
let pinning = 'none (taskset missing, one CPU, or --no-pin): server and load generator share the CPUs';
if (canPin) {
  try {
    // -a: every thread of this process, including ones node already started.
    execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
    pinning = 'server: taskset -c 0; load generator (this process): taskset -a -p -c 1';
  } catch (error) {
    pinning = `none (taskset failed: ${(error as Error).message})`;
  }
}
const serverCpu = pinning.startsWith('server') ? 0 : undefined;
const loadgenCpu = 1;
const machine: MachineInfo = machineInfo(pinning);

const wanted = args.rows?.split(',').map((id) => id.trim());
// A row measured against another row (target.against / timesOf, openRateOf) brings that row along.
if (wanted) {
  for (const id of [...wanted]) {
    const spec = allRows.find((row) => row.id === id);
    for (const dep of [spec?.target?.against, spec?.target?.timesOf?.row, spec?.openRateOf]) if (dep && !wanted.includes(dep)) wanted.push(dep);
  }
}
const selected = wanted ? allRows.filter((row) => wanted.includes(row.id) || row.id === 'floor') : allRows;
// Every row runs built JavaScript: the package from the current sources, the server scripts compiled.
compileServers();
const baseline: Baseline | undefined = args.baseline === undefined ? undefined : prepareBaseline(args.baseline, repoRoot, (line) => process.stdout.write(`${line}\n`));
// Each twin right after its row: the pair is measured within the same minute of every round.
const rows = baseline ? selected.flatMap((row) => (runsPendingHooks(row) ? [row, baselineTwin(row, baseline)] : [row])) : selected;

type RowStatus = 'ok' | 'failed';

/** What else ran during a measurement. */
interface Contention {
  /** The mock API's and the row's redis-server's CPU use, in cores (on the load generator's CPU). */
  helperCores: number;
  /** Other processes' CPU use during the measurement, in cores (all CPUs busy − server − load generator). */
  otherCores: number | undefined;
  /** Pinned runs: other processes' share of the server's CPU and of the load generator's CPU. */
  otherOnServerCpu: number | undefined;
  otherOnLoadgenCpu: number | undefined;
  /** Still above the threshold after the retries. */
  contended: boolean;
  attempts: number;
}

interface ClosedRound extends LoadResult, Contention {
  round: number;
  serverCpu: number | undefined;
}

interface RowState {
  spec: RowSpec;
  status: RowStatus;
  reason?: string;
  path?: string;
  rounds: ClosedRound[];
  open: OpenRound[];
}

interface OpenRound extends LoadResult, Contention {
  round: number;
  rate: number;
  sendLagP99: number;
  generatorGcMaxMs: number;
  generatorGcTotalMs: number;
  unanswered: number;
  serverCpu: number | undefined;
}

const states: RowState[] = rows.map((spec) => ({ spec, status: 'ok', rounds: [], open: [] }));

const log = (line: string) => process.stdout.write(`${line}\n`);

function targetFor(state: RowState, server: ServerProcess): LoadTarget {
  return targetOf(state.spec, server.port, payloads);
}

function markFailed(state: RowState, reason: string): void {
  state.status = 'failed';
  state.reason = reason;
  log(`  ✗ ${state.spec.id}: FAILED — ${reason}`);
}

/** Starts the row's server and resolves its path; undefined when the row cannot run. */
async function prepare(state: RowState): Promise<ServerProcess | undefined> {
  let server: ServerProcess;
  const env: Record<string, string> = { ...state.spec.env };
  let redis: RedisProcess | undefined;
  try {
    if (state.spec.needs?.mockApi) env.PH_BENCH_API_URL = (await mockApi()).url;
    if (state.spec.needs?.redis) {
      redis = await startRedis(helperCpu);
      env.PH_BENCH_REDIS_URL = redis.url;
      currentRedis = redis;
    }
    server = await startServer({ script: state.spec.script, cpu: serverCpu, serveArgs: state.spec.serveArgs, env, from: state.spec.from });
  } catch (error) {
    await redis?.stop();
    currentRedis = undefined;
    markFailed(state, `server did not start: ${(error as Error).message.split('\n')[0]}`);
    return undefined;
  }
  if (redis) {
    // The row's redis-server lives as long as its server.
    const stopServer = server.stop.bind(server);
    server.stop = async () => {
      await stopServer();
      await redis.stop();
      if (currentRedis === redis) currentRedis = undefined;
    };
  }
  state.path = state.spec.path;
  const appliedBefore = state.spec.needs?.mockApi ? await mockApiStats() : undefined;
  let problem = await probe(state.spec, server.port, state.path, payloads).catch((error: Error) => `probe: ${error.message}`);
  if (!problem && appliedBefore) {
    // The probe's commit and delete must have reached the API: these rows are about applying.
    const after = await mockApiStats();
    if (after.commit - appliedBefore.commit !== 1 || after.delete - appliedBefore.delete !== 1) {
      problem = `probe: the mock API saw ${after.commit - appliedBefore.commit} commit(s) and ${after.delete - appliedBefore.delete} delete(s), expected 1 and 1`;
    }
  }
  if (problem) {
    markFailed(state, problem);
    await server.stop();
    return undefined;
  }
  afterProbe.set(server, server.stderr().length);
  return server;
}

async function warmUp(state: RowState, server: ServerProcess, tag: string): Promise<boolean> {
  const warm = await closedLoop(targetFor(state, server), { connections: settings.connections, seconds: settings.warmupSeconds, tag });
  if (failed(warm)) {
    markFailed(state, `during warm-up: ${describeFailure(warm)}${stderrTail(server)}`);
    return false;
  }
  return true;
}

const afterProbe = new WeakMap<ServerProcess, number>();

// --- helpers of the applied rows, on the load generator's CPU (as a remote API would cost the server nothing) ---
const helperCpu = pinning.startsWith('server') ? loadgenCpu : undefined;
let mockApiProcess: Promise<ServerProcess> | undefined;
let currentRedis: RedisProcess | undefined;
function mockApi(): Promise<ServerProcess & { url: string }> {
  mockApiProcess ??= startServer({ script: 'mock-api', cpu: helperCpu });
  return mockApiProcess.then((server) => Object.assign(server, { url: `http://127.0.0.1:${server.port}` }));
}
async function mockApiStats(): Promise<{ commit: number; delete: number }> {
  const response = await fetch(`${(await mockApi()).url}/stats`);
  return (await response.json()) as { commit: number; delete: number };
}
/** CPU seconds used so far by the helpers running now (mock API, the row's redis-server). */
async function helperCpuSeconds(): Promise<number> {
  const mock = mockApiProcess ? (await mockApiProcess).cpuSeconds() ?? 0 : 0;
  return mock + (currentRedis?.cpuSeconds() ?? 0);
}

function stderrTail(server: ServerProcess): string {
  // Only what the server wrote after the probe (whose bad-signature refusal is expected).
  const text = server.stderr().slice(afterProbe.get(server) ?? 0).trim().split('\n').filter(Boolean).slice(-3).join(' | ');
  return text ? ` (server stderr: ${text.slice(0, 300)})` : '';
}

function cpuShare(server: ServerProcess, before: number | undefined, seconds: number): number | undefined {
  const after = server.cpuSeconds();
  return before === undefined || after === undefined ? undefined : (after - before) / seconds;
}

/**
 * Runs one measurement (after the warm-up) and checks what else used the CPUs meanwhile;
 * repeats it (up to `settings.retries` times, after waiting for quiet) when other processes
 * used more than `settings.contentionCores`.
 */
async function measured<R extends LoadResult>(
  state: RowState,
  server: ServerProcess,
  run: () => Promise<R>,
): Promise<(R & Contention & { serverCpu: number | undefined }) | undefined> {
  for (let attempt = 1; ; attempt++) {
    const helpersBefore = await helperCpuSeconds();
    const snapshot = cpuSnapshot();
    const cpuBefore = server.cpuSeconds();
    const result = await run();
    const helperCores = ((await helperCpuSeconds()) - helpersBefore) / result.seconds;
    if (failed(result)) {
      markFailed(state, `${describeFailure(result)}${stderrTail(server)}`);
      return undefined;
    }
    const serverShare = cpuShare(server, cpuBefore, result.seconds);
    const busy = cpuBusy(snapshot, cpuSnapshot()).filter(Number.isFinite);
    const otherCores =
      busy.length > 0 && serverShare !== undefined ? Math.max(0, busy.reduce((a, b) => a + b, 0) - serverShare - result.loadgenCpu - helperCores) : undefined;
    const pinned = serverCpu !== undefined && busy.length >= 2 && serverShare !== undefined;
    const otherOnServerCpu = pinned ? Math.max(0, busy[serverCpu]! - serverShare) : undefined;
    const otherOnLoadgenCpu = pinned ? Math.max(0, busy[loadgenCpu]! - result.loadgenCpu - (helperCpu === undefined ? 0 : helperCores)) : undefined;
    const contended = (otherCores !== undefined && otherCores > settings.contentionCores) || (otherOnServerCpu ?? 0) > 0.05;
    const contention = { helperCores, otherCores, otherOnServerCpu, otherOnLoadgenCpu, contended, attempts: attempt };
    if (!contended || attempt > settings.retries) return { ...result, serverCpu: serverShare, ...contention };
    log(`  … ${state.spec.id}: other processes used ${describeOther(contention)} meanwhile; measuring again (${attempt}/${settings.retries})`);
    if (settings.quietWaitSeconds > 0) await waitForQuiet(settings.quietWaitSeconds * 1000);
  }
}

function describeOther(c: Contention): string {
  if (c.otherCores === undefined) return '—';
  const split = c.otherOnServerCpu === undefined ? '' : ` (server CPU ${fmtPct(c.otherOnServerCpu)}, load generator CPU ${fmtPct(c.otherOnLoadgenCpu ?? Number.NaN)})`;
  return `${c.otherCores.toFixed(2)} cores${split}${c.helperCores > 0.005 ? `; helpers (mock API, redis) ${fmtPct(c.helperCores)}` : ''}`;
}

async function settle(): Promise<void> {
  if (settings.quietWaitSeconds <= 0) return;
  const load = await waitForQuiet(settings.quietWaitSeconds * 1000);
  if (load > 0.1) log(`  (machine still busy: ${fmtPct(load)} of a CPU used by others; measuring anyway)`);
}

// --- the run ---
const startedAt = new Date();
const sourceAtStart = sourceState(repoRoot);
log(`# pending-hooks benchmark ${settings.quick ? '(quick)' : ''}`);
log(`machine: ${machine.cpuModel}, ${machine.cpus} CPUs, node ${machine.node}, ${machine.os}`);
log(`pinning: ${machine.pinning}`);
log(
  `settings: ${settings.rounds} round(s) × ${settings.durationSeconds} s closed loop (after ${settings.warmupSeconds} s warm-up), ` +
    `${settings.connections} connections; open loop ${settings.openSeconds} s at ${settings.loadFraction * 100}% of the floor`,
);
const payloads = buildPayloads(settings.payloadCount);
log(
  `payloads: ${payloads.count} signed callbacks; average body REST ${payloads.rest.averageBytes} B, ` +
    `protobuf ${payloads['twirp-protobuf'].averageBytes} B, Twirp JSON ${payloads['twirp-json'].averageBytes} B; ` +
    `${payloads.expected.filter((a) => a === 'delete').length} blocklisted`,
);
log(
  `source: commit ${sourceAtStart.commit ?? '?'}, src/ hash ${sourceAtStart.srcHash}` +
    (sourceAtStart.changedFiles.length > 0 ? `, uncommitted: ${sourceAtStart.changedFiles.length} file(s)` : ''),
);

const floor = states.find((state) => state.spec.id === 'floor')!;
const medianRps = (state: RowState) => median(state.rounds.map((round) => round.rps));

// --- phase 1: closed loop, rounds interleaved across rows, a fresh server each time ---
for (let round = 1; round <= settings.rounds; round++) {
  log(`\n## closed loop, round ${round}/${settings.rounds}`);
  for (const state of states) {
    if (state.status !== 'ok') continue;
    const server = await prepare(state);
    if (!server) continue;
    try {
      await settle();
      if (!(await warmUp(state, server, `${state.spec.id}-r${round}-warm`))) continue;
      const result = await measured(state, server, () =>
        closedLoop(targetFor(state, server), { connections: settings.connections, seconds: settings.durationSeconds, tag: `${state.spec.id}-r${round}` }),
      );
      if (!result) continue;
      state.rounds.push({ ...result, round });
      log(
        `  ${state.spec.id.padEnd(20)} ${fmtInt(result.rps).padStart(7)} req/s  p50 ${fmtMs(result.latency.p50)}  ` +
          `p99 ${fmtMs(result.latency.p99)}  server CPU ${fmtPct(result.serverCpu ?? Number.NaN)}  load generator CPU ${fmtPct(result.loadgenCpu)}` +
          `  other processes ${describeOther(result)}${result.contended ? ' (CONTENDED)' : ''}`,
      );
    } finally {
      await server.stop();
    }
  }
}

const floorRps = floor.status === 'ok' ? medianRps(floor) : Number.NaN;
const openRate = Math.max(1, Math.round(floorRps * settings.loadFraction));
/** The row's open-loop rate: the floor's share, or its `openRateOf` row's (when that row was measured). */
function rateOf(spec: RowSpec): number {
  const of = spec.openRateOf ? states.find((state) => state.spec.id === spec.openRateOf) : undefined;
  if (!of || of.status !== 'ok' || of.rounds.length === 0) return openRate;
  return Math.max(1, Math.round(medianRps(of) * settings.loadFraction));
}

// --- phase 2: open loop at a fixed share of the floor's capacity, same rounds scheme ---
if (Number.isFinite(floorRps)) {
  for (let round = 1; round <= settings.rounds; round++) {
    log(
      `\n## open loop, round ${round}/${settings.rounds}: ${fmtInt(openRate)} req/s for every row ` +
        `(${settings.loadFraction * 100}% of the floor's median ${fmtInt(floorRps)} req/s), ${settings.openSeconds} s` +
        (states.some((state) => state.spec.openRateOf && state.status === 'ok')
          ? `; the applied rows at ${settings.loadFraction * 100}% of their reference row's median instead`
          : ''),
    );
    for (const state of states) {
      if (state.status !== 'ok') continue;
      const server = await prepare(state);
      if (!server) continue;
      try {
        await settle();
        if (!(await warmUp(state, server, `${state.spec.id}-o${round}-warm`))) continue;
        // An unmeasured lead-in at the same rate: the open-loop code paths of the generator
        // (and of the server at this rate) are warm before the measured run, the floor's too.
        // The first one also warms this process's open-loop code, so it runs longer. (Measured:
        // a fresh server's p99 at this rate keeps falling for several seconds of load.)
        const first = round === 1 && state === states.find((candidate) => candidate.status === 'ok');
        const leadIn = await openLoop(targetFor(state, server), {
          connections: settings.connections,
          seconds: settings.leadInSeconds + (first ? 1 : 0),
          rate: rateOf(state.spec),
          tag: `${state.spec.id}-o${round}-lead`,
          drainSeconds: 2,
        });
        if (failed(leadIn)) {
          markFailed(state, `open-loop lead-in: ${describeFailure(leadIn)}${stderrTail(server)}`);
          continue;
        }
        const result = await measured(state, server, () =>
          openLoop(targetFor(state, server), { connections: settings.connections, seconds: settings.openSeconds, rate: rateOf(state.spec), tag: `${state.spec.id}-o${round}` }),
        );
        if (!result) continue;
        state.open.push({ ...result, round });
        log(
          `  ${state.spec.id.padEnd(20)} ${fmtInt(result.rps).padStart(6)} req/s${rateOf(state.spec) !== openRate ? ` (rate ${fmtInt(rateOf(state.spec))})` : ''}  p50 ${fmtMs(result.latency.p50, 3)}  ` +
            `p99 ${fmtMs(result.latency.p99, 3)}  p99.9 ${fmtMs(result.latency.p999, 3)}  server CPU ${fmtPct(result.serverCpu ?? Number.NaN)}  ` +
            `send lag p99 ${fmtMs(result.sendLagP99, 3)} (generator GC max ${fmtMs(result.generatorGcMaxMs, 2)}, total ${fmtMs(result.generatorGcTotalMs, 0)})${result.unanswered > 0 ? `  UNANSWERED ${fmtInt(result.unanswered)}` : ''}` +
            `  other processes ${describeOther(result)}${result.contended ? ' (CONTENDED)' : ''}`,
        );
      } finally {
        await server.stop();
      }
    }
  }
} else log('\nthe floor failed: no ratios and no open-loop rounds');

// --- report ---
interface RowReport {
  id: string;
  label: string;
  about: string;
  status: RowStatus;
  reason?: string;
  path?: string;
  reqPerSec: number | null;
  roundsReqPerSec: number[];
  roundSpread: number | null;
  ratio: number | null;
  closedLatencyMs: LatencySummary | null;
  serverCpu: number | null;
  loadgenCpu: number | null;
  /** Open loop, medians over its rounds. */
  openLoop: {
    rate: number;
    rounds: number;
    achieved: number;
    p50Ms: number;
    p99Ms: number;
    p999Ms: number;
    roundsP99Ms: number[];
    /** Requests without an answer when the drain limit passed, all rounds. */
    unanswered: number;
    /** Answers that were the budget's fallback (`timed_out`), all rounds. */
    fallbacks: number;
    /** The server could not keep up with the rate (achieved < 95% of it, or unanswered requests). */
    overloaded: boolean;
    sendLagP99Ms: number;
    /** Longest GC pause of the load generator during an open-loop round. */
    generatorGcMaxMs: number;
    serverCpu: number | null;
    otherCores: number | null;
    contendedRounds: number;
  } | null;
  /** Closed-loop answers that were the budget's fallback (`timed_out`): should be 0. */
  closedFallbacks: number;
  /** Most CPU other processes used during a closed-loop round, in cores. */
  closedOtherCores: number | null;
  /** Rounds measured while other processes used the CPUs (after retries). */
  contendedRounds: number;
  p99DeltaMs: number | null;
  /**
   * Rows run at another row's rate (`openRateOf`) or measured against another row
   * (`target.against`): req/s and p99 at 25% load relative to that row, same run.
   */
  vsReference: { row: string; ratio: number | null; p99DeltaMs: number | null; timesOf: { row: string; times: number | null } | null } | null;
  target: RowSpec['target'] | null;
  met: { ratio: boolean | null; p99: boolean | null; all: boolean | null } | null;
}

const finite = (value: number | undefined | null) => (value !== undefined && value !== null && Number.isFinite(value) ? value : null);
function openSummary(state: RowState): RowReport['openLoop'] {
  if (state.open.length === 0) return null;
  const openRate = rateOf(state.spec);
  const achieved = median(state.open.map((round) => round.rps));
  const unanswered = state.open.reduce((sum, round) => sum + round.unanswered, 0);
  const fallbacks = state.open.reduce((sum, round) => sum + round.fallbacks, 0);
  return {
    rate: openRate,
    rounds: state.open.length,
    achieved,
    p50Ms: median(state.open.map((round) => round.latency.p50)),
    p99Ms: median(state.open.map((round) => round.latency.p99)),
    p999Ms: median(state.open.map((round) => round.latency.p999)),
    roundsP99Ms: state.open.map((round) => round.latency.p99),
    unanswered,
    fallbacks,
    overloaded: unanswered > 0 || fallbacks > 0 || achieved < 0.95 * openRate,
    sendLagP99Ms: Math.max(...state.open.map((round) => round.sendLagP99)),
    generatorGcMaxMs: Math.max(...state.open.map((round) => round.generatorGcMaxMs)),
    serverCpu: finite(median(state.open.map((round) => round.serverCpu ?? Number.NaN))),
    otherCores: finite(Math.max(...state.open.map((round) => round.otherCores ?? Number.NaN))),
    contendedRounds: state.open.filter((round) => round.contended).length,
  };
}
const floorP99 = openSummary(floor)?.p99Ms ?? Number.NaN;

const reports: RowReport[] = states.map((state) => {
  const ok = state.status === 'ok' && state.rounds.length > 0;
  const rps = ok ? medianRps(state) : Number.NaN;
  // Latency of the closed loop: the round whose req/s is the median one.
  const medianRound = ok ? [...state.rounds].sort((a, b) => a.rps - b.rps)[state.rounds.length >> 1] : undefined;
  const ratio = rps / floorRps;
  const open = openSummary(state);
  // Rows at another row's open-loop rate are not comparable with the floor's p99.
  const delta = open && !state.spec.openRateOf ? open.p99Ms - floorP99 : Number.NaN;
  const target = state.spec.target ?? null;
  const refId = target?.against ?? state.spec.openRateOf;
  const ref = refId ? states.find((candidate) => candidate.spec.id === refId) : undefined;
  const refOk = ref !== undefined && ref.status === 'ok' && ref.rounds.length > 0;
  const refRatio = refOk ? rps / medianRps(ref) : Number.NaN;
  const refOpen = ref ? openSummary(ref) : null;
  const refDelta = open && refOpen ? open.p99Ms - refOpen.p99Ms : Number.NaN;
  const timesRow = target?.timesOf ? states.find((candidate) => candidate.spec.id === target.timesOf!.row) : undefined;
  const times = timesRow && timesRow.status === 'ok' && timesRow.rounds.length > 0 ? rps / medianRps(timesRow) : Number.NaN;
  const vsReference: RowReport['vsReference'] =
    ref && ref !== state
      ? { row: ref.spec.id, ratio: finite(refRatio), p99DeltaMs: finite(refDelta), timesOf: timesRow ? { row: timesRow.spec.id, times: finite(times) } : null }
      : null;
  let met: RowReport['met'] = null;
  if (target) {
    const against = target.against !== undefined;
    const shownRatio = against ? refRatio : ratio;
    const shownDelta = against ? refDelta : delta;
    let ratioMet = Number.isFinite(shownRatio) ? shownRatio >= target.minRatio : null;
    if (target.timesOf) ratioMet = ratioMet === null || !Number.isFinite(times) ? null : ratioMet && times >= target.timesOf.min;
    const p99Met = Number.isFinite(shownDelta) ? shownDelta <= target.maxP99DeltaMs : null;
    met = { ratio: ratioMet, p99: p99Met, all: ratioMet === null || p99Met === null ? null : ratioMet && p99Met };
  }
  return {
    id: state.spec.id,
    label: state.spec.label,
    about: state.spec.about,
    status: state.status,
    ...(state.reason ? { reason: state.reason } : {}),
    ...(state.path ? { path: state.path } : {}),
    reqPerSec: finite(rps),
    roundsReqPerSec: state.rounds.map((round) => Math.round(round.rps)),
    roundSpread: ok ? spread(state.rounds.map((round) => round.rps)) : null,
    ratio: finite(ratio),
    closedLatencyMs: medianRound?.latency ?? null,
    serverCpu: finite(medianRound?.serverCpu),
    loadgenCpu: finite(medianRound?.loadgenCpu),
    openLoop: open,
    closedFallbacks: state.rounds.reduce((sum, round) => sum + round.fallbacks, 0),
    closedOtherCores: state.rounds.length > 0 ? finite(Math.max(...state.rounds.map((round) => round.otherCores ?? Number.NaN))) : null,
    contendedRounds: state.rounds.filter((round) => round.contended).length,
    p99DeltaMs: finite(delta),
    vsReference,
    target,
    met,
  };
});

function cellRps(report: RowReport): string {
  if (report.status === 'failed') return `FAILED: ${report.reason ?? ''}`.slice(0, 120).replace(/\|/g, '/');
  return fmtInt(report.reqPerSec ?? Number.NaN);
}

function cellTarget(report: RowReport): string {
  if (!report.target) return report.id === 'floor' ? 'baseline' : 'reference';
  const t = report.target;
  const of = t.against ? ` ${t.against}` : '';
  return `≥ ${t.minRatio.toFixed(2)}×${of}${t.timesOf ? `, ≥ ${t.timesOf.min}× ${t.timesOf.row}` : ''}, Δp99 ≤ ${t.maxP99DeltaMs} ms${of ? ` vs${of}` : ''}`;
}

function cellMet(report: RowReport): string {
  if (!report.met || !report.target) return '—';
  if (report.status !== 'ok') return 'no (not measured)';
  const misses: string[] = [];
  const vs = report.target.against ? report.vsReference : null;
  const ratio = vs ? vs.ratio : report.ratio;
  const delta = vs ? vs.p99DeltaMs : report.p99DeltaMs;
  if (ratio !== null && ratio < report.target.minRatio) misses.push(`${fmtRatio(ratio)} < ${report.target.minRatio.toFixed(2)}×`);
  const times = vs?.timesOf?.times ?? null;
  if (report.target.timesOf && times !== null && times < report.target.timesOf.min) misses.push(`${times.toFixed(2)}× ${report.target.timesOf.row} < ${report.target.timesOf.min}×`);
  if (report.met.p99 === false) misses.push(`Δp99 ${fmtMs(delta ?? Number.NaN)} > ${report.target.maxP99DeltaMs} ms`);
  if (report.met.ratio === null || report.met.p99 === null) misses.push('incomplete');
  return misses.length === 0 ? 'yes' : `no (${misses.join('; ')})`;
}

const sign = (value: number | null) => (value === null ? '—' : `${value >= 0 ? '+' : ''}${value.toFixed(2)} ms`);

const mainTable = [
  `| row | req/s (median of ${settings.rounds}) | ratio vs floor | p99 closed-loop | p99 at ${settings.loadFraction * 100}% load | Δp99 vs floor | target | met? |`,
  '| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ...reports.map(
    (r) =>
      `| ${r.label} | ${cellRps(r)} | ${r.status === 'ok' ? fmtRatio(r.ratio ?? Number.NaN) : '—'} | ${fmtMs(r.closedLatencyMs?.p99 ?? Number.NaN)} | ` +
      `${fmtMs(r.openLoop?.p99Ms ?? Number.NaN, 3)}${r.openLoop && r.openLoop.rate !== openRate ? ` (at ${fmtInt(r.openLoop.rate)} req/s)` : ''}${r.openLoop?.overloaded ? ' (overloaded)' : ''} | ` +
      `${r.id === 'floor' ? '0' : r.vsReference && r.p99DeltaMs === null ? `${sign(r.vsReference.p99DeltaMs)} vs ${r.vsReference.row}` : sign(r.p99DeltaMs)} | ${cellTarget(r)} | ${cellMet(r)} |`,
  ),
].join('\n');

const detailTable = [
  `| row | req/s per round | spread | server CPU | load gen CPU | other procs (cores) closed / open | p50 closed | p50 at ${settings.loadFraction * 100}% | p99 at ${settings.loadFraction * 100}% per round | p99.9 at ${settings.loadFraction * 100}% | achieved rate | send lag p99 |`,
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...reports.map(
    (r) =>
      `| ${r.id} | ${r.roundsReqPerSec.map(fmtInt).join(', ') || '—'} | ${r.roundSpread === null ? '—' : fmtPct(r.roundSpread)} | ` +
      `${fmtPct(r.serverCpu ?? Number.NaN)} | ${fmtPct(r.loadgenCpu ?? Number.NaN)} | ` +
      `${r.closedOtherCores === null ? '—' : r.closedOtherCores.toFixed(2)} / ${r.openLoop?.otherCores == null ? '—' : r.openLoop.otherCores.toFixed(2)} | ${fmtMs(r.closedLatencyMs?.p50 ?? Number.NaN)} | ` +
      `${fmtMs(r.openLoop?.p50Ms ?? Number.NaN, 3)} | ${r.openLoop ? r.openLoop.roundsP99Ms.map((v) => v.toFixed(2)).join(', ') : '—'} | ${fmtMs(r.openLoop?.p999Ms ?? Number.NaN, 3)} | ` +
      `${r.openLoop ? `${fmtInt(r.openLoop.achieved)}${r.openLoop.unanswered > 0 ? ` (${fmtInt(r.openLoop.unanswered)} unanswered)` : ''}` : '—'} | ${fmtMs(r.openLoop?.sendLagP99Ms ?? Number.NaN, 3)} |`,
  ),
].join('\n');

const appliedReports = reports.filter((r) => r.vsReference);
const appliedTable =
  appliedReports.length === 0
    ? ''
    : [
        `| row (decision applied through the mock API) | req/s | vs reference | p99 at ${settings.loadFraction * 100}% of the reference | Δp99 vs reference | other comparison |`,
        '| --- | ---: | ---: | ---: | ---: | --- |',
        ...[...new Set(appliedReports.map((r) => r.vsReference!.row))].flatMap((refId) => {
          const ref = reports.find((r) => r.id === refId)!;
          return [ref, ...appliedReports.filter((r) => r.vsReference!.row === refId && r !== ref)].map((r) => {
            const vs = r === ref ? null : r.vsReference!;
            const other = vs?.timesOf ? `${vs.timesOf.times === null ? '—' : `${vs.timesOf.times.toFixed(2)}×`} ${vs.timesOf.row}` : '';
            return (
              `| ${r.id} | ${cellRps(r)} | ${vs ? (vs.ratio === null ? '—' : fmtRatio(vs.ratio)) : 'reference'} | ` +
              `${fmtMs(r.openLoop?.p99Ms ?? Number.NaN, 3)}${r.openLoop?.overloaded ? ' (overloaded)' : ''} | ${vs ? sign(vs.p99DeltaMs) : '0'} | ${other} |`
            );
          });
        }),
      ].join('\n');

log('\n## results\n');
log(mainTable);
if (appliedTable) {
  log(`\n### applied rows against their reference (open loop at ${settings.loadFraction * 100}% of the reference's median req/s)\n`);
  log(appliedTable);
}
log('\n### details\n');
log(detailTable);

// --- against the baseline: each row beside its twin, round by round ---
const baselineComparisons = states.flatMap((state) => {
  const twin = state.spec.from ? undefined : states.find((other) => other.spec.id === `${state.spec.id}@base`);
  return twin ? [compareWithBaseline(state.spec.id, state.rounds, twin.rounds)] : [];
});
const baselineTable =
  baselineComparisons.length === 0
    ? ''
    : [
        `| row | baseline req/s (median) | current req/s (median) | current / baseline | per round (paired) | rounds faster / slower (beyond 1%) |`,
        '| --- | ---: | ---: | ---: | --- | ---: |',
        ...baselineComparisons.map(
          (c) =>
            `| ${c.id} | ${c.baseline === null ? '—' : fmtInt(c.baseline)} | ${c.current === null ? '—' : fmtInt(c.current)} | ${c.ratio === null ? '—' : fmtRatio(c.ratio)} | ` +
            `${c.pairs.map((p) => p.toFixed(3)).join(', ') || '—'} | ${c.faster} / ${c.slower} of ${c.pairs.length} |`,
        ),
      ].join('\n');
if (baseline) {
  log(`\n### against the baseline ${baseline.ref} (${baseline.commit.slice(0, 12)}), same run, rounds interleaved\n`);
  log(baselineTable || '(no pending-hooks row measured)');
}

const warnings: string[] = [];
for (const r of reports) {
  if (r.loadgenCpu !== null && r.loadgenCpu > 0.9) warnings.push(`${r.id}: the load generator used ${fmtPct(r.loadgenCpu)} of its core; it may have limited this row`);
  if (r.serverCpu !== null && r.serverCpu < 0.85) warnings.push(`${r.id}: the server used only ${fmtPct(r.serverCpu)} of its core in the closed loop`);
  if (r.roundSpread !== null && r.roundSpread > 0.1) warnings.push(`${r.id}: rounds differ by ${fmtPct(r.roundSpread)} (noisy machine?)`);
  if (r.contendedRounds > 0) warnings.push(`${r.id}: ${r.contendedRounds} closed-loop round(s) ran while other processes used the CPUs (up to ${r.closedOtherCores?.toFixed(2)} cores)`);
  if (r.openLoop && r.openLoop.contendedRounds > 0) warnings.push(`${r.id}: ${r.openLoop.contendedRounds} open-loop round(s) ran while other processes used the CPUs (up to ${r.openLoop.otherCores?.toFixed(2)} cores)`);
  if (r.closedFallbacks > 0) warnings.push(`${r.id}: ${fmtInt(r.closedFallbacks)} closed-loop answers were timeout fallbacks (not counted as throughput)`);
  if (r.openLoop?.overloaded) {
    const how = [
      `decisions at ${fmtInt(r.openLoop.achieved)} req/s`,
      ...(r.openLoop.fallbacks > 0 ? [`${fmtInt(r.openLoop.fallbacks)} timeout fallbacks`] : []),
      ...(r.openLoop.unanswered > 0 ? [`${fmtInt(r.openLoop.unanswered)} requests unanswered after the drain limit`] : []),
    ];
    warnings.push(`${r.id}: cannot sustain ${fmtInt(r.openLoop.rate)} req/s (${how.join(', ')}): its open-loop latency is queueing`);
  }
  if (r.openLoop && r.openLoop.sendLagP99Ms > 0.5) {
    warnings.push(`${r.id}: the open-loop generator sent late (p99 lag ${fmtMs(r.openLoop.sendLagP99Ms, 3)}; its longest GC pause ${fmtMs(r.openLoop.generatorGcMaxMs, 2)})`);
  }
}
const sourceAtEnd = sourceState(repoRoot);
if (sourceAtEnd.srcHash !== sourceAtStart.srcHash) {
  warnings.push(`src/ changed during the run (hash ${sourceAtStart.srcHash} → ${sourceAtEnd.srcHash}): servers started at different times may have run different code`);
}
if (!pinning.startsWith('server')) warnings.push('not pinned: server and load generator compete for the same CPUs; ratios are less stable');
if (warnings.length > 0) {
  log('\nwarnings:');
  for (const warning of warnings) log(`- ${warning}`);
}

const results = {
  suite: 'pending-hooks bench',
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  machine,
  command: process.argv.length > 2 ? `npm run bench -- ${process.argv.slice(2).join(' ')}` : 'npm run bench',
  settings,
  payloads: {
    count: payloads.count,
    averageBytes: { rest: payloads.rest.averageBytes, 'twirp-protobuf': payloads['twirp-protobuf'].averageBytes, 'twirp-json': payloads['twirp-json'].averageBytes },
    blocklisted: payloads.expected.filter((a) => a === 'delete').length,
  },
  source: { start: sourceAtStart, end: sourceAtEnd },
  floorReqPerSec: finite(floorRps),
  openLoopRate: Number.isFinite(floorRps) ? openRate : null,
  rows: reports,
  warnings,
  tables: { main: mainTable, details: detailTable, applied: appliedTable, baseline: baselineTable },
  baseline: baseline ? { ref: baseline.ref, commit: baseline.commit, rows: baselineComparisons } : null,
  micro: null as unknown,
};
const resultsFile = join(outDir, 'results.json');
writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
log(`\nwrote ${resultsFile}`);

// The mock API served every applied row; its process (and pipes) would keep this one alive.
if (mockApiProcess) await (await mockApiProcess).stop();

// --- micro-benchmarks: a child on the server core (now idle), as `npx tsx bench/micro.ts` ---
let microOk = true;
if (!args['no-micro']) {
  log('\n## micro-benchmarks (bench/micro.ts)\n');
  const microFile = join(outDir, 'micro.json');
  const microArgs = ['--import', 'tsx', 'bench/micro.ts', '--json', microFile, ...(settings.quick ? ['--quick'] : [])];
  const [command, commandArgs] = serverCpu === undefined ? [process.execPath, microArgs] : ['taskset', ['-c', String(serverCpu), process.execPath, ...microArgs]];
  const code = await new Promise<number | null>((done) => {
    const child = spawn(command, commandArgs as string[], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('exit', done);
  });
  microOk = code === 0;
  if (microOk) {
    results.micro = JSON.parse(readFileSync(microFile, 'utf8')) as unknown;
    writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  } else log(`micro-benchmarks failed (exit ${code})`);
}

const anyFailed = reports.some((r) => r.status === 'failed');
const anyMissed = reports.some((r) => r.met && r.met.all !== true);
if (anyFailed) log('\nsome rows FAILED (see above): exit 1');
process.exitCode = anyFailed || !microOk || (args.strict && anyMissed) ? 1 : 0;
