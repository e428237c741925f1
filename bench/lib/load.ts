import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { benchApiKey } from './common.js';
import type { AnswerKind } from './rows.js';
import { Samples, type LatencySummary } from './stats.js';

/** What one row sends: the route, the headers and the pre-signed bodies it cycles through. */
export interface LoadTarget {
  port: number;
  path: string;
  /** Content-Type and any protocol headers (e.g. `connect-protocol-version`). */
  headers: Record<string, string>;
  bodies: readonly Buffer[];
  signatures: readonly string[];
  /** Classifies every answer's body (as a latin1 string; autocannon hands it over as utf8). */
  classify?: (body: string) => AnswerKind;
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

export function failed(result: LoadResult): boolean {
  return result.non2xx > 0 || result.errors > 0 || result.timeouts > 0 || result.mismatches > 0 || result.ok === 0;
}

export function describeFailure(result: LoadResult): string {
  return `${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts, ${result.mismatches} bad bodies, ${result.fallbacks} fallbacks, ${result.ok} ok${result.lastError ? ` (last error: ${result.lastError})` : ''}`;
}

let webhookSequence = 0;

/** Headers of request `i`: a unique `X-Webhook-Id` each time (the servers dedupe by it). */
function requestHeaders(target: LoadTarget, i: number, tag: string): Record<string, string> {
  const n = i % target.bodies.length;
  return {
    ...target.headers,
    'x-signature': target.signatures[n]!,
    'x-api-key': benchApiKey,
    'x-webhook-id': `${tag}-${webhookSequence++}`,
    'x-webhook-attempt': '1',
  };
}

/**
 * Closed loop with autocannon (`--client autocannon`): `connections` connections, each
 * sending its next request as soon as the answer arrives, for `seconds`. Latency is recorded
 * from autocannon's per-response times (float ms) rather than its 1 ms-resolution histogram.
 * Not the default: see lean-client.ts for why. The open loop never uses autocannon: its
 * `overallRate` sends each connection's share of a second back-to-back at the start of that
 * second (bursts at full speed, then idle) and records latency with 1 ms resolution.
 */
export function autocannonClosedLoop(target: LoadTarget, options: { connections: number; seconds: number; tag: string }): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const latencies = new Samples();
    let counter = 0;
    let ok = 0;
    let fallbacks = 0;
    const classify = target.classify;
    const cpuStart = process.cpuUsage();
    const wallStart = performance.now();
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${target.port}`,
        connections: options.connections,
        duration: options.seconds,
        pipelining: 1,
        timeout: 10,
        // Stop on a 250 ms tick rather than a whole second: durations stay what was asked.
        sampleInt: 250,
        requests: [
          {
            method: 'POST',
            path: target.path,
            setupRequest(request) {
              const i = counter++;
              request.body = target.bodies[i % target.bodies.length]!;
              request.headers = requestHeaders(target, i, options.tag);
              return request;
            },
            ...(classify
              ? {
                  onResponse(status: number, body: string) {
                    if (status >= 200 && status < 300 && classify(body) === 'fallback') fallbacks++;
                  },
                }
              : {}),
          },
        ],
        ...(classify ? { verifyBody: ((body: string) => classify(body) !== 'bad') as (body: unknown) => boolean } : {}),
      } as autocannon.Options,
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        const seconds = (performance.now() - wallStart) / 1000;
        const cpu = process.cpuUsage(cpuStart);
        const decisions = ok - result.mismatches - fallbacks;
        resolve({
          ok: decisions,
          fallbacks,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          mismatches: result.mismatches,
          seconds,
          rps: decisions / seconds,
          latency: latencies.summary(),
          loadgenCpu: (cpu.user + cpu.system) / 1e6 / seconds,
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok++;
        latencies.push(responseTime);
      }
    });
  });
}
