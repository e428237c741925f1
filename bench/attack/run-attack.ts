/**
 * Runs attack cases against a server, each with N attackers at once, while a probe sends real
 * signed callbacks at a steady rate and times their answers. When the server exposes the
 * target server's stats route (bench/attack/target-server.ts), also reports the server's CPU per
 * attack unit (or per MB for bulk cases) against a signed callback's, its event-loop delay and
 * its RSS growth.
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { Pool } from 'undici';
import { encodeCallback, readPassOnAnswer, signCallbackBody } from '../../src/emulator/callback-encoding.js';
import { loadLatencyRecorders } from '../../src/loadtest/latency.js';
import type { AttackCase, AttackTally, AttackTarget } from './cases.js';

export interface ServerStats {
  /** process.cpuUsage() user + system, ms since start. */
  cpuMs: number;
  rssMb: number;
  /** Event-loop delay since the previous read (monitorEventLoopDelay, 10 ms resolution). */
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
}

export interface Baseline {
  /** Server CPU for one signed ~1 KB callback. */
  cpuPerCallbackMs: number;
  /** Server CPU per MB of signed ~1 MiB callbacks. */
  cpuPerMbMs: number;
}

export interface ProbeSummary {
  sent: number;
  /** Probe callbacks not answered 200 with a decision. */
  failures: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface CaseResult {
  name: string;
  what: string;
  unit: string;
  /** Judged per MB sent rather than per unit. */
  bulk: boolean;
  units: number;
  megabytes: number;
  outcomes: Record<string, number>;
  /** Units that ended in an outcome the case does not expect (a 5xx, a hang, …). */
  unexpected: number;
  probe: ProbeSummary | undefined;
  server?: {
    cpuMs: number;
    /** CPU per unit (per MB for bulk cases) over the baseline's: ≤ 1 costs no more than a signed callback. */
    costRatio: number;
    eventLoopDelayP99Ms: number;
    eventLoopDelayMaxMs: number;
    rssGrowthMb: number;
  };
}

export interface RunAttackOptions {
  target: AttackTarget;
  cases: readonly AttackCase[];
  /** Attackers per case, at once. Default 4. */
  attackers?: number;
  /** Seconds per case. Default 4. */
  seconds?: number;
  /** Probe callbacks per second. Default 25. */
  probeRate?: number;
  /** Reads the server's stats, when it exposes them. */
  stats?: () => Promise<ServerStats>;
  /** Progress lines. */
  progress?: (line: string) => void;
}

function signedCallback(target: AttackTarget, padding = 0): { body: Buffer; headers: Record<string, string> } {
  const { body, contentType } = encodeCallback('rest', {
    message: { id: `probe-${randomUUID()}`, text: 'a real message', type: 'regular', user: { id: 'probe' } },
    metadata: padding > 0 ? { padding: 'p'.repeat(padding) } : {},
  });
  const headers: Record<string, string> = {
    'content-type': contentType,
    'x-signature': signCallbackBody(body, target.secret!),
    'x-webhook-id': randomUUID(),
  };
  if (target.apiKey) headers['x-api-key'] = target.apiKey;
  return { body, headers };
}

const round = (value: number) => Math.round(value * 100) / 100;

/** Sends signed callbacks every 1000/rate ms until aborted; answers are timed from the send. */
async function probe(pool: Pool, target: AttackTarget, rate: number, signal: AbortSignal): Promise<ProbeSummary> {
  const latencies = (await loadLatencyRecorders('the attack probe'))();
  let failures = 0;
  const inFlight: Promise<void>[] = [];
  const interval = 1000 / rate;
  const started = performance.now();
  for (let i = 0; !signal.aborted; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (signal.aborted) break;
    const { body, headers } = signedCallback(target);
    const sentAt = performance.now();
    inFlight.push(
      pool.request({ method: 'POST', path: target.restPath, headers, body, headersTimeout: 10_000, bodyTimeout: 10_000 }).then(
        async (response) => {
          const body = Buffer.from(await response.body.arrayBuffer());
          latencies.record(performance.now() - sentAt);
          if (response.statusCode !== 200 || readPassOnAnswer(body, String(response.headers['content-type'] ?? ''))?.action === undefined) failures++;
        },
        () => {
          latencies.record(performance.now() - sentAt);
          failures++;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  const summary = latencies.summary();
  return { sent: summary.count, failures, p50Ms: round(summary.p50), p99Ms: round(summary.p99), maxMs: round(summary.max) };
}

/** Server CPU per signed callback (1 KB) and per MB (1 MiB callbacks), measured just before the attacks. */
export async function measureBaseline(target: AttackTarget, stats: () => Promise<ServerStats>): Promise<Baseline> {
  const pool = new Pool(`http://${target.host}:${target.port}`, { connections: 4 });
  try {
    const send = async (padding: number) => {
      const { body, headers } = signedCallback(target, padding);
      const response = await pool.request({ method: 'POST', path: target.restPath, headers, body });
      await response.body.text();
      if (response.statusCode !== 200) throw new Error(`baseline callback answered ${response.statusCode}`);
    };
    for (let i = 0; i < 200; i++) await send(0); // warm-up
    let before = await stats();
    for (let round = 0; round < 100; round++) await Promise.all([send(0), send(0), send(0), send(0), send(0)]);
    let after = await stats();
    const cpuPerCallbackMs = (after.cpuMs - before.cpuMs) / 500;
    const big = 1024 * 1024 - 400;
    for (let i = 0; i < 5; i++) await send(big);
    before = await stats();
    for (let i = 0; i < 20; i++) await send(big);
    after = await stats();
    const cpuPerMbMs = (after.cpuMs - before.cpuMs) / 20;
    return { cpuPerCallbackMs, cpuPerMbMs };
  } finally {
    await pool.close();
  }
}

export async function runAttack(options: RunAttackOptions, baseline?: Baseline): Promise<CaseResult[]> {
  const attackers = options.attackers ?? 4;
  const seconds = options.seconds ?? 4;
  const probeRate = options.probeRate ?? 25;
  const { target } = options;
  const results: CaseResult[] = [];
  for (const attackCase of options.cases) {
    if (attackCase.needsSecret && !target.secret) {
      options.progress?.(`- ${attackCase.name}: skipped (needs --secret)`);
      continue;
    }
    options.progress?.(`- ${attackCase.name}: ${attackers} attackers for ${seconds} s … (${attackCase.what})`);
    const pool = target.secret ? new Pool(`http://${target.host}:${target.port}`, { connections: 1, pipelining: 1 }) : undefined;
    // Keep the probe's connection warm before the attack starts.
    if (pool) await probe(pool, target, 50, AbortSignal.timeout(200));
    const before = options.stats ? await options.stats() : undefined;
    const controller = new AbortController();
    const worker = new Worker(new URL('./attacker-worker-boot.mjs', import.meta.url), { workerData: { caseName: attackCase.name, target, attackers } });
    const failed = new Promise<never>((_, reject) => worker.once('error', reject));
    await Promise.race([new Promise((resolve) => worker.once('message', resolve)), failed]);
    const probing = pool ? probe(pool, target, probeRate, controller.signal) : Promise.resolve(undefined);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    controller.abort();
    worker.postMessage('stop');
    const tallies = await Promise.race([new Promise<AttackTally[]>((resolve) => worker.once('message', resolve)), failed]);
    await worker.terminate();
    const probeSummary = await probing;
    await pool?.close();
    const after = options.stats ? await options.stats() : undefined;
    const outcomes: Record<string, number> = {};
    let units = 0;
    let bytes = 0;
    for (const tally of tallies) {
      units += tally.units;
      bytes += tally.bytes;
      for (const [outcome, count] of Object.entries(tally.outcomes)) outcomes[outcome] = (outcomes[outcome] ?? 0) + count;
    }
    // A unit cut short by the end of the run is not the server's fault.
    const unexpected = Object.entries(outcomes)
      .filter(([outcome]) => !attackCase.expected.includes(outcome) && outcome !== 'aborted')
      .reduce((sum, [, count]) => sum + count, 0);
    const result: CaseResult = {
      name: attackCase.name,
      what: attackCase.what,
      unit: attackCase.unit,
      bulk: attackCase.bulk,
      units,
      megabytes: round(bytes / 1024 / 1024),
      outcomes,
      unexpected,
      probe: probeSummary,
    };
    if (before && after) {
      const cpuMs = after.cpuMs - before.cpuMs;
      const serverBytes = attackCase.serverBytesPerUnit === undefined ? bytes : attackCase.serverBytesPerUnit * units;
      const perAttack = attackCase.bulk ? cpuMs / Math.max(serverBytes / 1024 / 1024, 0.001) : cpuMs / Math.max(units, 1);
      const perSigned = attackCase.bulk ? baseline?.cpuPerMbMs : baseline?.cpuPerCallbackMs;
      result.server = {
        cpuMs: round(cpuMs),
        costRatio: perSigned ? round(perAttack / perSigned) : Number.NaN,
        eventLoopDelayP99Ms: after.eventLoopDelayP99Ms,
        eventLoopDelayMaxMs: after.eventLoopDelayMaxMs,
        rssGrowthMb: round(after.rssMb - before.rssMb),
      };
    }
    results.push(result);
    options.progress?.(`  ${describe(result)}`);
  }
  return results;
}

export function describe(result: CaseResult): string {
  const outcomes = Object.entries(result.outcomes)
    .map(([outcome, count]) => `${outcome}×${count}`)
    .join(' ');
  const probe = result.probe ? `probe p50 ${result.probe.p50Ms} ms, p99 ${result.probe.p99Ms} ms, max ${result.probe.maxMs} ms, ${result.probe.failures}/${result.probe.sent} failed` : 'no probe (no secret)';
  const server = result.server
    ? `; server CPU ${result.server.cpuMs} ms (${result.server.costRatio}× a signed callback ${result.bulk ? 'per MB' : `per ${result.unit}`}), loop delay p99 ${result.server.eventLoopDelayP99Ms} ms (max ${result.server.eventLoopDelayMaxMs}), RSS ${result.server.rssGrowthMb >= 0 ? '+' : ''}${result.server.rssGrowthMb} MB`
    : '';
  return `${result.units} ${result.unit}s, ${result.megabytes} MB sent [${outcomes}]${result.unexpected ? ` UNEXPECTED ×${result.unexpected}` : ''}; ${probe}${server}`;
}

/** The bounds the attack suite holds a server to. */
export const bounds = {
  probeP99Ms: 50,
  eventLoopDelayP99Ms: 50,
  rssGrowthMb: 100,
  /** Server CPU per attack unit (per MB for bulk cases), in signed callbacks. */
  costRatio: 2,
};

/** The bounds a result breaks, as readable lines (empty when it holds them all). */
export function violations(result: CaseResult): string[] {
  const found: string[] = [];
  if (result.unexpected > 0) found.push(`${result.unexpected} ${result.unit}s ended unexpectedly: ${JSON.stringify(result.outcomes)}`);
  if (result.probe) {
    if (result.probe.failures > 0) found.push(`${result.probe.failures} real callbacks failed`);
    if (result.probe.p99Ms >= bounds.probeP99Ms) found.push(`real callbacks p99 ${result.probe.p99Ms} ms ≥ ${bounds.probeP99Ms} ms`);
  }
  if (result.server) {
    if (result.server.eventLoopDelayP99Ms >= bounds.eventLoopDelayP99Ms) found.push(`event-loop delay p99 ${result.server.eventLoopDelayP99Ms} ms ≥ ${bounds.eventLoopDelayP99Ms} ms`);
    if (result.server.rssGrowthMb >= bounds.rssGrowthMb) found.push(`RSS grew ${result.server.rssGrowthMb} MB ≥ ${bounds.rssGrowthMb} MB`);
    if (result.server.costRatio > bounds.costRatio) found.push(`server CPU ${result.server.costRatio}× a signed callback > ${bounds.costRatio}×`);
  }
  return found;
}
