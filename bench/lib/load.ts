import { readPassOnAnswer, type CallbackAnswer } from '../../src/emulator/callback-encoding.js';
import { loadLatencyRecorders, type LatencySummary } from '../../src/loadtest/latency.js';
import { driveLoad, type DriveResult, type DriverRequest } from '../../src/loadtest/load-driver.js';
import { benchApiKey } from './common.js';

/*
 * A row's load, on the package's load driver (src/loadtest/load-driver.ts, the one
 * `pending-hooks bench` runs on): why it is lean and not autocannon is written there and in
 * RESULTS.md. Every answer is read by the emulator's readPassOnAnswer and classified.
 */

/** What one row sends: the route, the headers and the pre-signed bodies it cycles through. */
export interface LoadTarget {
  port: number;
  path: string;
  /** Content-Type and any protocol headers (e.g. `connect-protocol-version`). */
  headers: Record<string, string>;
  bodies: readonly Buffer[];
  signatures: readonly string[];
}

export interface LoadResult {
  /** Answers with a 2xx status and a decision in the body: what req/s counts. */
  ok: number;
  /** 2xx answers carrying the budget's fallback (`timed_out`): the server was overloaded. */
  fallbacks: number;
  /** Answers that were not 2xx, connection errors, timeouts, bodies that failed the check. */
  non2xx: number;
  errors: number;
  timeouts: number;
  mismatches: number;
  /** Seconds the load ran (from the first request to the last answer). */
  seconds: number;
  /** 2xx answers per second. */
  rps: number;
  latency: LatencySummary;
  /** CPU time of this process (the load generator) over the run, as a fraction of one core. */
  loadgenCpu: number;
  /** The last connection error, if any. */
  lastError?: string;
}

export interface OpenLoopResult extends LoadResult {
  rate: number;
  sendLagP99: number;
  unanswered: number;
  generatorGcMaxMs: number;
  generatorGcTotalMs: number;
}

export function failed(result: LoadResult): boolean {
  return result.non2xx > 0 || result.errors > 0 || result.timeouts > 0 || result.mismatches > 0 || result.ok === 0;
}

export function describeFailure(result: LoadResult): string {
  return `${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts, ${result.mismatches} bad bodies, ${result.fallbacks} fallbacks, ${result.ok} ok${result.lastError ? ` (last error: ${result.lastError})` : ''}`;
}

/** What an answer under load is: the handler's decision, the budget's fallback, or wrong. */
export type AnswerKind = 'decision' | 'fallback' | 'bad';

/**
 * A decision (commit / delete) is what counts; a fallback (`timed_out: true`: the server was
 * so loaded that the handler missed its budget) is counted apart and never as throughput;
 * anything else (an unreadable body, `accepted`, keep_pending without a timeout) fails the row.
 */
export function answerKind(answer: CallbackAnswer | undefined): AnswerKind {
  if (answer === undefined) return 'bad';
  if (answer.timedOut) return 'fallback';
  return answer.action === 'commit' || answer.action === 'delete' ? 'decision' : 'bad';
}

function requestsOf(target: LoadTarget): DriverRequest[] {
  return target.bodies.map((body, i) => ({
    body,
    headers: { ...target.headers, 'x-signature': target.signatures[i]!, 'x-api-key': benchApiKey, 'x-webhook-attempt': '1' },
  }));
}

async function drive(target: LoadTarget, options: { connections: number; seconds: number; tag: string; rate?: number; drainSeconds?: number }): Promise<{ run: DriveResult; result: LoadResult }> {
  const tally = { ok: 0, fallbacks: 0, non2xx: 0, mismatches: 0 };
  const run = await driveLoad({
    origin: `http://127.0.0.1:${target.port}`,
    path: target.path,
    requests: requestsOf(target),
    webhookIdPrefix: `${options.tag}-`,
    connections: options.connections,
    durationS: options.seconds,
    // Open loop: a request is given up only once the drain is over (until then it is queueing, not lost).
    requestTimeoutMs: options.rate === undefined ? 10_000 : Math.max(10_000, (options.seconds + (options.drainSeconds ?? 10)) * 1000 + 1000),
    latency: await loadLatencyRecorders('bench/'),
    ...(options.rate === undefined ? {} : { rate: options.rate, drainS: options.drainSeconds ?? 10 }),
    onAnswer: ({ status, contentType, body }) => {
      if (status < 200 || status >= 300) {
        tally.non2xx++;
        return;
      }
      const kind = answerKind(readPassOnAnswer(body, contentType));
      if (kind === 'bad') tally.mismatches++;
      else if (kind === 'fallback') tally.fallbacks++;
      else tally.ok++;
    },
  });
  return {
    run,
    result: {
      ...tally,
      errors: run.networkErrors,
      timeouts: run.timeouts,
      seconds: run.seconds,
      rps: tally.ok / run.seconds,
      latency: run.latency,
      loadgenCpu: run.loadgenCpu,
      ...(run.lastError === undefined ? {} : { lastError: run.lastError }),
    },
  };
}

/** Closed loop: every connection sends its next request as soon as its answer arrives, for `seconds`. */
export async function closedLoop(target: LoadTarget, options: { connections: number; seconds: number; tag: string }): Promise<LoadResult> {
  return (await drive(target, options)).result;
}

/**
 * Open loop at a fixed rate (like wrk2): latency from each request's due time, queueing for a
 * free connection included; after the last request is due, answers are awaited for at most
 * `drainSeconds` (default 10) and the unanswered enter the latency with their wait so far.
 */
export async function openLoop(
  target: LoadTarget,
  options: { connections: number; seconds: number; rate: number; tag: string; drainSeconds?: number },
): Promise<OpenLoopResult> {
  const { run, result } = await drive(target, options);
  return {
    ...result,
    rate: options.rate,
    sendLagP99: run.sendLag?.p99 ?? 0,
    unanswered: run.unanswered,
    generatorGcMaxMs: run.gcMaxMs,
    generatorGcTotalMs: run.gcTotalMs,
  };
}
