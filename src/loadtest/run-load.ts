import { cpus, platform, release } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fromBinary } from '@bufbuild/protobuf';
import type autocannonModule from 'autocannon';
import { honourConnectionClose } from './honour-connection-close.js';
import type hdrModule from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { importOptional } from '../optional-dependency.js';
import type { Seed } from '../emulator/sample-messages.js';
import { PendingMessageResponseSchema } from '../gen/pendingmessage/v1/pending_message_pb.js';
import { actionFromProto } from '../transports/twirp/message-convert.js';
import { defaultTwirpPrefix, isCallbackMode, type CallbackMode } from '../emulator/callback-encoding.js';
import { createSignedRequestPool, defaultPoolSize, parseTargetUrl } from './signed-requests.js';

/**
 * A load run against a pending-hooks server (or anything answering Stream's pending-message
 * callbacks) on autocannon: signed, varied requests from a pre-built pool, every answer's
 * latency recorded at microsecond precision in an HDR histogram, every answer's body read to
 * count `timed_out: true` and ack-first (`accepted: true`) answers, and a per-second series.
 *
 * Rate limiting (`rate`) uses autocannon's `overallRate`: the rate is split over the
 * connections, each sending at most its share per second. It stays closed-loop per
 * connection, so give it enough connections that a slow answer does not hold the rate back.
 */

/** Options of {@link runLoad}. */
export interface LoadOptions {
  /** The hook's `webhook_url`, e.g. `http://127.0.0.1:3000` (REST adds `/PassOnPendingMessage`). */
  url: string;
  /** Default `rest`. */
  mode?: CallbackMode;
  /** Concurrent connections. Default 50 (capped at `amount` and `rate`). */
  connections?: number;
  /** Seconds to run. Default 10; ignored when `amount` is set. */
  durationS?: number;
  /** Requests to send, instead of a duration. */
  amount?: number;
  /** Overall requests per second (autocannon `overallRate`). Default: as fast as possible. */
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

export interface LatencySummaryMs {
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

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
  // autocannon refuses more connections than requests, and gives each connection ≥ 1 req/s.
  if (amount !== undefined) connections = Math.min(connections, amount);
  if (rate !== undefined) connections = Math.min(connections, rate);
  const timeoutMs = positiveNumber(options.timeoutMs, 'timeout-ms') ?? defaultBudgetMs;
  const requestTimeoutMs = positiveNumber(options.requestTimeoutMs, 'request timeout') ?? defaultRequestTimeoutMs;
  const poolSize = positiveInteger(options.poolSize, 'pool size') ?? defaultPoolSize;
  const badShare = options.badShare ?? 0;
  if (typeof badShare !== 'number' || !(badShare >= 0 && badShare <= 1)) {
    throw new LoadOptionsError(`bad share must be between 0 and 1, got ${String(badShare)}`);
  }
  return { url: options.url, mode, connections, durationS, amount, rate, timeoutMs, requestTimeoutMs, poolSize, badShare };
}

const toolPackages = ['autocannon', 'hdr-histogram-js'];

/** The load generator's own dependencies, loaded on first use (optional peer dependencies). */
async function loadTools(): Promise<{ autocannon: typeof autocannonModule; hdr: typeof hdrModule }> {
  const what = 'the load generator (pending-hooks bench)';
  const [autocannon, hdr] = await Promise.all([
    importOptional<{ default: typeof autocannonModule }>('autocannon', what, toolPackages),
    importOptional<typeof hdrModule & { default: typeof hdrModule }>('hdr-histogram-js', what, toolPackages),
  ]);
  // CommonJS modules: node puts module.exports on `default`; some loaders (tsx) hand the exports over as they are.
  return { autocannon: autocannon.default, hdr: typeof hdr.build === 'function' ? hdr : hdr.default };
}

function newHistogram(hdr: typeof hdrModule): Histogram {
  // Microseconds, 3 significant digits, grows as needed.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
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

/** A 2xx answer's meaning. */
interface Answer {
  action: 'commit' | 'delete' | 'keep_pending' | undefined;
  timedOut: boolean;
  accepted: boolean;
}

const jsonActions: Record<string, Answer['action']> = {
  commit: 'commit',
  delete: 'delete',
  keep_pending: 'keep_pending',
  ACTION_COMMIT: 'commit',
  ACTION_DELETE: 'delete',
  ACTION_KEEP_PENDING: 'keep_pending',
};

/**
 * Reads a 2xx PassOn answer. autocannon hands bodies over as UTF-8 text; a protobuf answer
 * survives that when it is valid UTF-8, which pending-hooks' answers are (small varints,
 * short UTF-8 reasons). Returns undefined when the body cannot be read.
 */
export function readAnswer(mode: CallbackMode, body: string): Answer | undefined {
  try {
    if (mode === 'twirp-protobuf') {
      const response = fromBinary(PendingMessageResponseSchema, Buffer.from(body, 'utf8'));
      return { action: actionFromProto(response.action), timedOut: response.timedOut, accepted: response.accepted };
    }
    const parsed = JSON.parse(body) as Record<string, unknown>;
    if (parsed === null || typeof parsed !== 'object') return undefined;
    const action = parsed.action;
    return {
      action: typeof action === 'string' ? jsonActions[action] : typeof action === 'number' ? actionFromProto(action) : undefined,
      timedOut: parsed.timed_out === true || parsed.timedOut === true,
      accepted: parsed.accepted === true,
    };
  } catch {
    return undefined;
  }
}

/** The error code of a non-2xx answer (`{"error"}` or Twirp's `{"code"}`), if any. */
function errorCodeOf(body: string): string | undefined {
  if (body === '' || body[0] !== '{') return undefined;
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const code = parsed.error ?? parsed.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

function percentileMs(histogram: Histogram, percentile: number, maxUs: number): number {
  if (histogram.totalCount === 0) return 0;
  return round3(Math.min(histogram.getValueAtPercentile(percentile), maxUs) / 1000);
}

/**
 * Runs the load and resolves with the measurements. Rejects with {@link LoadOptionsError} for
 * invalid options, or with autocannon's error when the run cannot start.
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
  const { autocannon, hdr } = await loadTools();

  const histogram = newHistogram(hdr);
  const secondHistogram = newHistogram(hdr);
  const buckets = new Map<number, number>();
  const statusCounts: Record<string, number> = {};
  const errorCodes: Record<string, number> = {};
  const answers = { commit: 0, delete: 0, keep_pending: 0, accepted: 0, undecodable: 0 };
  const series: SeriesPoint[] = [];
  let requests = 0;
  let non2xx = 0;
  let slowerThanBudget = 0;
  let timedOutAnswers = 0;
  let budgetMissTotal = 0;
  let errorEvents = 0;
  let sumUs = 0;
  let minUs = Number.POSITIVE_INFINITY;
  let maxUs = 0;
  // The current interval.
  let secRequests = 0;
  let secMaxUs = 0;
  let secErrors = 0;
  let secNon2xx = 0;
  let secMisses = 0;
  let lastTick = 0;

  // autocannon calls a request's onResponse(status, body) and then, synchronously, emits
  // `response` with the latency: the body is handed from one to the other through this.
  let lastBody: string | undefined;

  const t0 = performance.now();
  const startedAt = new Date();
  const cpu0 = process.cpuUsage();

  function record(status: number, latencyMs: number): void {
    const body = lastBody ?? '';
    lastBody = undefined;
    const us = Math.max(1, Math.round(latencyMs * 1000));
    histogram.recordValue(us);
    secondHistogram.recordValue(us);
    const index = bucketIndex(us);
    buckets.set(index, (buckets.get(index) ?? 0) + 1);
    requests++;
    secRequests++;
    sumUs += us;
    if (us < minUs) minUs = us;
    if (us > maxUs) maxUs = us;
    if (us > secMaxUs) secMaxUs = us;
    statusCounts[status] = (statusCounts[status] ?? 0) + 1;
    const slow = latencyMs > timeoutMs;
    if (slow) slowerThanBudget++;
    let timedOut = false;
    if (status >= 200 && status < 300) {
      const answer = readAnswer(mode, body);
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
  }

  function closeInterval(now: number): SeriesPoint {
    const durationS = Math.max(0.001, (now - lastTick) / 1000);
    const point: SeriesPoint = {
      t: round3((now - t0) / 1000),
      durationS: round3(durationS),
      requests: secRequests,
      rps: Math.round((secRequests / durationS) * 10) / 10,
      p50Ms: percentileMs(secondHistogram, 50, secMaxUs),
      p99Ms: percentileMs(secondHistogram, 99, secMaxUs),
      maxMs: round3(secMaxUs / 1000),
      errors: secErrors,
      non2xx: secNon2xx,
      budgetMisses: secMisses,
    };
    secondHistogram.reset();
    secRequests = 0;
    secMaxUs = 0;
    secErrors = 0;
    secNon2xx = 0;
    secMisses = 0;
    lastTick = now;
    return point;
  }

  lastTick = t0;

  return await new Promise<LoadResult>((resolve, reject) => {
    let ticker: NodeJS.Timeout | undefined;
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      if (ticker) clearInterval(ticker);
      options.signal?.removeEventListener('abort', onAbort);
      histogram.destroy();
      secondHistogram.destroy();
      reject(error instanceof Error ? error : new Error(String(error)));
    };

    const instance = autocannon(
      {
        url: pool.origin,
        connections: resolved.connections,
        ...(resolved.amount !== undefined ? { amount: resolved.amount } : { duration: resolved.durationS ?? defaultDurationS }),
        ...(resolved.rate !== undefined ? { overallRate: resolved.rate } : {}),
        timeout: resolved.requestTimeoutMs / 1000,
        method: 'POST',
        // autocannon checks for the end of a duration every sampleInt ms.
        sampleInt: 100,
        setupClient: honourConnectionClose,
        requests: [
          {
            method: 'POST',
            setupRequest: (request) => {
              const next = pool.next();
              return { ...request, method: 'POST', path: next.path, headers: next.headers, body: next.body };
            },
            onResponse: (_status, body) => {
              lastBody = body;
            },
          },
        ],
      },
      (error: unknown, result: autocannonModule.Result | undefined) => {
        if (error) return fail(error);
        if (settled) return;
        settled = true;
        if (ticker) clearInterval(ticker);
        options.signal?.removeEventListener('abort', onAbort);
        const now = performance.now();
        // A last fragment shorter than 250 ms would show a misleading rate: it is left out of the
        // series (never out of the totals) unless it is the only point.
        if (series.length === 0 || now - lastTick >= 250) series.push(closeInterval(now));
        const elapsedS = (now - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const cpuInfo = cpus();
        const latencyMs: LatencySummaryMs =
          requests === 0
            ? { min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 }
            : {
                min: round3(minUs / 1000),
                p50: percentileMs(histogram, 50, maxUs),
                p90: percentileMs(histogram, 90, maxUs),
                p99: percentileMs(histogram, 99, maxUs),
                p999: percentileMs(histogram, 99.9, maxUs),
                max: round3(maxUs / 1000),
                mean: round3(sumUs / requests / 1000),
              };
        const histogramBuckets: HistogramBucket[] = [];
        if (buckets.size > 0) {
          const indexes = [...buckets.keys()];
          const first = Math.min(...indexes);
          const last = Math.max(...indexes);
          for (let i = first; i <= last; i++) {
            histogramBuckets.push({ fromMs: bucketEdgeMs(i), toMs: bucketEdgeMs(i + 1), count: buckets.get(i) ?? 0 });
          }
        }
        histogram.destroy();
        secondHistogram.destroy();
        resolve({
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
          // Every request the pool handed out was written (autocannon's own count pre-adds a rate's worth).
          sent: pool.issued,
          rps: elapsedS > 0 ? Math.round((requests / elapsedS) * 10) / 10 : 0,
          latencyMs,
          non2xx,
          errors: Math.max(result?.errors ?? 0, errorEvents),
          timeouts: result?.timeouts ?? 0,
          budgetMisses: { slowerThanBudget, timedOutAnswers, total: budgetMissTotal },
          answers,
          statusCounts,
          errorCodes,
          series,
          histogram: histogramBuckets,
          startedAt: startedAt.toISOString(),
          finishedAt: new Date().toISOString(),
          node: process.version,
          platform: `${platform()} ${release()}`,
          cpu: { model: cpuInfo[0]?.model.trim() ?? 'unknown', cores: cpuInfo.length },
          clientCpuPercent: elapsedS > 0 ? Math.round(((cpu.user + cpu.system) / 1e6 / elapsedS) * 1000) / 10 : 0,
        });
      },
    );

    instance.on('response', (_client: autocannonModule.Client, statusCode: number, _bytes: number, responseTime: number) => {
      record(statusCode, responseTime);
    });
    instance.on('reqError', () => {
      errorEvents++;
      secErrors++;
    });
    instance.on('error', fail);

    function onAbort(): void {
      instance.stop();
    }
    if (options.signal?.aborted) instance.stop();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    ticker = setInterval(() => {
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
        errors: errorEvents,
        non2xx,
        budgetMisses: budgetMissTotal,
      };
      try {
        options.onProgress(snapshot);
      } catch {
        // A failing progress reporter must not end the run.
      }
    }, 1000);
  });
}
