import { randomUUID } from 'node:crypto';
import { cpus, platform, release } from 'node:os';
import { performance } from 'node:perf_hooks';
import { defaultTwirpPrefix, isCallbackMode, readPassOnAnswer, type CallbackMode } from '../emulator/callback-encoding.js';
import type { Seed } from '../emulator/sample-messages.js';
import { loadLatencyRecorders, type LatencySummary } from './latency.js';
import { driveLoad } from './load-driver.js';
import { createSignedRequestPool, defaultPoolSize, parseTargetUrl } from './signed-requests.js';

/**
 * A load run against a pending-hooks server (or anything answering Stream's pending-message
 * callbacks) on the load driver (load-driver.ts, the one bench/ uses): signed, varied requests
 * from a pre-built pool, every answer's latency recorded at microsecond precision in an HDR
 * histogram (latency.ts), every answer's body read to count `timed_out: true` and ack-first
 * (`accepted: true`) answers, and a per-second series.
 *
 * With `rate` the load is an open loop: request k is due at start + k / rate whatever the
 * earlier ones did, and its latency counts from that due time (waiting for a free connection
 * counts), so a server slower than the rate shows its queueing instead of slowing the client.
 */

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** The hook's `webhook_url`, e.g. `http://127.0.0.1:3000` (REST adds `/PassOnPendingMessage`). */
  url: string;
  /** Default `rest`. */
  mode?: CallbackMode;
  /** Concurrent connections. Default 50 (capped at `amount`). */
  connections?: number;
  /** Seconds to run. Default 10; ignored when `amount` is set. */
  durationS?: number;
  /** Requests to send, instead of a duration. */
  amount?: number;
  /** Requests per second, an open loop (latency from each request's due time). Default: as fast as possible (closed loop). */
  rate?: number;
  /** The hook's `timeout_ms`: an answer slower than this is a budget miss. Default 500. */
  timeoutMs?: number;
  /** The client gives up on one request after this long (counted in `timeouts`). Default 6000 (Stream's). */
  requestTimeoutMs?: number;
  /** API secret used to sign. */
  secret: string;
  /** `X-Api-Key`; omitted when undefined. */
  apiKey?: string;
  /** Default `/twirp`. */
  twirpPrefix?: string;
  /** Distinct pre-signed requests. Default 2000. */
  poolSize?: number;
  /** Share (0–1) of messages containing `badWord`. Default 0. */
  badShare?: number;
  badWord?: string;
  seed?: Seed;
  /** Called once per second while running. */
  onProgress?: (snapshot: ProgressSnapshot) => void;
  /** Ends the run early; the result covers what was measured. */
  signal?: AbortSignal;
}

/** What {@link LoadOptions.onProgress} gets every second. */
export interface ProgressSnapshot {
  elapsedS: number;
  /** Planned length: seconds, or undefined with `amount`. */
  plannedDurationS: number | undefined;
  plannedRequests: number | undefined;
  /** Answers so far. */
  requests: number;
  /** Answers per second in the last interval. */
  rps: number;
  /** Latencies of the last interval (ms). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Totals so far. */
  errors: number;
  non2xx: number;
  budgetMisses: number;
}

/** The latency summary of a run (ms). */
export type LatencySummaryMs = Omit<LatencySummary, 'count'>;

/** One second (the last point may be shorter) of a run. */
export interface SeriesPoint {
  /** Seconds since the start at the end of this interval. */
  t: number;
  /** Length of the interval (s). */
  durationS: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  errors: number;
  non2xx: number;
  /** Answers slower than the budget or answered `timed_out: true`. */
  budgetMisses: number;
}

/** A latency bucket; buckets are log-spaced (10 per decade), empty ones between the first and last included. */
export interface HistogramBucket {
  fromMs: number;
  toMs: number;
  count: number;
}

export interface LoadResult {
  /** Format version of this object. */
  version: 1;
  mode: CallbackMode;
  url: string;
  /** The URL every request was posted to. */
  target: string;
  connections: number;
  /** Measured length of the run (s). */
  durationS: number;
  /** What was asked for. */
  plannedDurationS: number | null;
  amount: number | null;
  rate: number | null;
  timeoutMs: number;
  requestTimeoutMs: number;
  poolSize: number;
  badShare: number;
  /** Answers received (any status). */
  requests: number;
  /** Requests issued, including ones in flight at the end and ones lost to connection errors. */
  sent: number;
  /** Answers per second over the run. */
  rps: number;
  latencyMs: LatencySummaryMs;
  non2xx: number;
  /** Connection errors and client timeouts. */
  errors: number;
  /** Requests the client gave up on after `requestTimeoutMs`. */
  timeouts: number;
  budgetMisses: {
    /** Answers slower than `timeoutMs`. */
    slowerThanBudget: number;
    /** 2xx answers carrying `timed_out: true` (the server's fallback). */
    timedOutAnswers: number;
    /** Answers that are either (counted once). */
    total: number;
  };
  /** What the 2xx answers said. */
  answers: {
    commit: number;
    delete: number;
    keep_pending: number;
    /** Ack-first answers (`accepted: true`). */
    accepted: number;
    /** 2xx bodies that could not be read. */
    undecodable: number;
  };
  /** Answers by HTTP status. */
  statusCounts: Record<string, number>;
  /** Error codes of non-2xx answers (`error` of REST, `code` of Twirp), e.g. `invalid_signature`. */
  errorCodes: Record<string, number>;
  series: SeriesPoint[];
  histogram: HistogramBucket[];
  startedAt: string;
  finishedAt: string;
  node: string;
  platform: string;
  cpu: { model: string; cores: number };
  /** CPU used by the load generator's process, % of one core (near 100 means the client may be the bottleneck). */
  clientCpuPercent: number;
}

/** Invalid {@link LoadOptions}. */
export class LoadOptionsError extends RangeError {
  override readonly name = 'LoadOptionsError';
}

export const defaultConnections = 50;
export const defaultDurationS = 10;
export const defaultBudgetMs = 500;
export const defaultRequestTimeoutMs = 6000;

interface ResolvedLoadOptions {
  url: string;
  mode: CallbackMode;
  connections: number;
  durationS: number | undefined;
  amount: number | undefined;
  rate: number | undefined;
  timeoutMs: number;
  requestTimeoutMs: number;
  poolSize: number;
  badShare: number;
}

function positiveInteger(value: number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1) throw new LoadOptionsError(`${what} must be a positive integer, got ${String(value)}`);
  return value;
}

function positiveNumber(value: number | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new LoadOptionsError(`${what} must be a positive number, got ${String(value)}`);
  }
  return value;
}

/** Checks and completes options; throws {@link LoadOptionsError} saying what is wrong. */
export function resolveLoadOptions(options: LoadOptions): ResolvedLoadOptions {
  try {
    parseTargetUrl(options.url);
  } catch (error) {
    throw new LoadOptionsError((error as Error).message);
  }
  const mode = options.mode ?? 'rest';
  if (!isCallbackMode(mode)) throw new LoadOptionsError(`mode must be rest, twirp-protobuf or twirp-json, got ${String(mode)}`);
  if (typeof options.secret !== 'string' || options.secret === '') {
    throw new LoadOptionsError('a secret is required to sign requests (--secret or STREAM_API_SECRET)');
  }
  const amount = positiveInteger(options.amount, 'amount');
  const durationS = amount === undefined ? (positiveNumber(options.durationS, 'duration') ?? defaultDurationS) : undefined;
  const rate = positiveInteger(options.rate, 'rate');
  let connections = positiveInteger(options.connections, 'connections') ?? defaultConnections;
  if (connections > 10_000) throw new LoadOptionsError(`connections must be at most 10000, got ${connections}`);
  // More connections than requests would stay idle.
  if (amount !== undefined) connections = Math.min(connections, amount);
  const timeoutMs = positiveNumber(options.timeoutMs, 'timeout-ms') ?? defaultBudgetMs;
  const requestTimeoutMs = positiveNumber(options.requestTimeoutMs, 'request timeout') ?? defaultRequestTimeoutMs;
  const poolSize = positiveInteger(options.poolSize, 'pool size') ?? defaultPoolSize;
  const badShare = options.badShare ?? 0;
  if (typeof badShare !== 'number' || !(badShare >= 0 && badShare <= 1)) {
    throw new LoadOptionsError(`bad share must be between 0 and 1, got ${String(badShare)}`);
  }
  return { url: options.url, mode, connections, durationS, amount, rate, timeoutMs, requestTimeoutMs, poolSize, badShare };
}

const bucketsPerDecade = 10;

function bucketIndex(us: number): number {
  return Math.floor(Math.log10(Math.max(1, us)) * bucketsPerDecade + 1e-9);
}

function bucketEdgeMs(index: number): number {
  const us = 10 ** (index / bucketsPerDecade);
  return Number((us / 1000).toPrecision(4));
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** The error code of a non-2xx answer (`{"error"}` or Twirp's `{"code"}`), if any. */
function errorCodeOf(body: Buffer): string | undefined {
  if (body.length === 0 || body[0] !== 0x7b) return undefined;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    const code = parsed.error ?? parsed.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}


/**
 * Runs the load and resolves with the measurements. Rejects with {@link LoadOptionsError} for
 * invalid options, or with `MissingDependencyError` when hdr-histogram-js is not installed.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const resolved = resolveLoadOptions(options);
  let pool: ReturnType<typeof createSignedRequestPool>;
  try {
    pool = createSignedRequestPool({
      url: resolved.url,
      mode: resolved.mode,
      secret: options.secret,
      apiKey: options.apiKey,
      twirpPrefix: options.twirpPrefix ?? defaultTwirpPrefix,
      size: resolved.poolSize,
      badShare: resolved.badShare,
      badWord: options.badWord,
      seed: options.seed,
    });
  } catch (error) {
    throw new LoadOptionsError((error as Error).message);
  }
  const { mode, timeoutMs } = resolved;
  const latency = await loadLatencyRecorders();
  // Building the pool blocked this thread for up to ~0.5 s (encoding and signing). A server in
  // the same process (tests, programmatic use) reads that as event-loop lateness and would shed
  // the first requests: its loop clock gets a few samples in before the load starts.
  await new Promise((resolve) => setTimeout(resolve, 50));

  const second = latency();
  const buckets = new Map<number, number>();
  const statusCounts: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  const answers = { commit: 0, delete: 0, keep_pending: 0, accepted: 0, undecodable: 0 };
  const series: SeriesPoint[] = [];
  let requests = 0;
  let errors = 0;
  let non2xx = 0;
  let slowerThanBudget = 0;
  let timedOutAnswers = 0;
  let budgetMissTotal = 0;
  // The current interval.
  let secRequests = 0;
  let secErrors = 0;
  let secNon2xx = 0;
  let secMisses = 0;

  const t0 = performance.now();
  let lastTick = t0;
  const startedAt = new Date();

  function closeInterval(now: number): SeriesPoint {
    const durationS = Math.max(0.001, (now - lastTick) / 1000);
    const summary = second.summary();
    const point: SeriesPoint = {
      t: round3((now - t0) / 1000),
      durationS: round3(durationS),
      requests: secRequests,
      rps: Math.round((secRequests / durationS) * 10) / 10,
      p50Ms: summary.p50,
      p99Ms: summary.p99,
      maxMs: summary.max,
      errors: secErrors,
      non2xx: secNon2xx,
      budgetMisses: secMisses,
    };
    second.reset();
    secRequests = 0;
    secErrors = 0;
    secNon2xx = 0;
    secMisses = 0;
    lastTick = now;
    return point;
  }

  const ticker = setInterval(() => {
    const point = closeInterval(performance.now());
    series.push(point);
    if (options.onProgress === undefined) return;
    const snapshot: ProgressSnapshot = {
      elapsedS: point.t,
      plannedDurationS: resolved.durationS,
      plannedRequests: resolved.amount,
      requests,
      rps: point.rps,
      p50Ms: point.p50Ms,
      p99Ms: point.p99Ms,
      maxMs: point.maxMs,
      errors,
      non2xx,
      budgetMisses: budgetMissTotal,
    };
    try {
      options.onProgress(snapshot);
    } catch {
      // A failing progress reporter must not end the run.
    }
  }, 1000);

  let run: Awaited<ReturnType<typeof driveLoad>>;
  try {
    run = await driveLoad({
      origin: pool.origin,
      path: pool.path,
      requests: pool.requests,
      // Unique per request (the server's dedupe must never answer from memory), without a UUID per request.
      webhookIdPrefix: `${randomUUID()}-`,
      connections: resolved.connections,
      ...(resolved.amount !== undefined ? { amount: resolved.amount } : { durationS: resolved.durationS }),
      ...(resolved.rate !== undefined ? { rate: resolved.rate } : {}),
      requestTimeoutMs: resolved.requestTimeoutMs,
      signal: options.signal,
      latency,
      onError: () => {
        errors++;
        secErrors++;
      },
      onAnswer: ({ status, contentType, body, latencyMs }) => {
        second.record(latencyMs);
        const us = Math.max(1, Math.round(latencyMs * 1000));
        const index = bucketIndex(us);
        buckets.set(index, (buckets.get(index) ?? 0) + 1);
        requests++;
        secRequests++;
        statusCounts[status] = (statusCounts[status] ?? 0) + 1;
        const slow = latencyMs > timeoutMs;
        if (slow) slowerThanBudget++;
        let timedOut = false;
        if (status >= 200 && status < 300) {
          const answer = readPassOnAnswer(body, contentType);
          if (answer === undefined) answers.undecodable++;
          else {
            if (answer.action !== undefined) answers[answer.action]++;
            if (answer.accepted) answers.accepted++;
            timedOut = answer.timedOut;
            if (timedOut) timedOutAnswers++;
          }
        } else {
          non2xx++;
          secNon2xx++;
          const code = errorCodeOf(body);
          if (code !== undefined) errorCodes[code] = (errorCodes[code] ?? 0) + 1;
        }
        if (slow || timedOut) {
          budgetMissTotal++;
          secMisses++;
        }
      },
    });
  } finally {
    clearInterval(ticker);
  }

  const now = performance.now();
  // A last fragment shorter than 250 ms would show a misleading rate: it is left out of the
  // series (never out of the totals) unless it is the only point.
  if (series.length === 0 || now - lastTick >= 250) series.push(closeInterval(now));
  const elapsedS = (now - t0) / 1000;
  const cpuInfo = cpus();
  const { count: _count, ...latencyMs } = run.latency;
  const histogram: HistogramBucket[] = [];
  if (buckets.size > 0) {
    const indexes = [...buckets.keys()];
    const first = Math.min(...indexes);
    const last = Math.max(...indexes);
    for (let i = first; i <= last; i++) histogram.push({ fromMs: bucketEdgeMs(i), toMs: bucketEdgeMs(i + 1), count: buckets.get(i) ?? 0 });
  }
  return {
    version: 1,
    mode,
    url: resolved.url,
    target: pool.target,
    connections: resolved.connections,
    durationS: round3(elapsedS),
    plannedDurationS: resolved.durationS ?? null,
    amount: resolved.amount ?? null,
    rate: resolved.rate ?? null,
    timeoutMs,
    requestTimeoutMs: resolved.requestTimeoutMs,
    poolSize: resolved.poolSize,
    badShare: resolved.badShare,
    requests,
    sent: run.sent,
    rps: elapsedS > 0 ? Math.round((requests / elapsedS) * 10) / 10 : 0,
    latencyMs,
    non2xx,
    errors: run.networkErrors + run.timeouts,
    timeouts: run.timeouts,
    budgetMisses: { slowerThanBudget, timedOutAnswers, total: budgetMissTotal },
    answers,
    statusCounts,
    errorCodes,
    series,
    histogram,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: { model: cpuInfo[0]?.model.trim() ?? 'unknown', cores: cpuInfo.length },
    clientCpuPercent: Math.round(run.loadgenCpu * 1000) / 10,
  };
}
