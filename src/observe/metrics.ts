import { createRequire } from 'node:module';
import type { Counter as CounterType, Registry } from 'prom-client';
import type { HookErrorCode } from '../core/hook-error.js';

/** prom-client, loaded the first time metrics are asked for: a server without metrics never loads it. */
function promClient(): typeof import('prom-client') {
  return createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
}

/** What a callback came to, as counted: the decision, an ack, or why there is none. */
export type CallbackOutcome = 'commit' | 'delete' | 'keep_pending' | 'accepted' | 'deleted' | 'not_applied' | 'error';

/**
 * What the pipeline, the dispatcher and the decision applier report. `noMetrics` is the
 * default: every call is an empty function, so a server without metrics pays a call, no more.
 */
export interface HookMetrics {
  /** A callback answered with a decision (or an ack): its time from arrival to answer, and what was left of the budget. */
  callback(transport: string, method: string, outcome: CallbackOutcome, seconds: number, budgetLeftSeconds: number): void;
  /** A request refused before any handler (bad signature, size, route, payload, …). */
  refused(code: HookErrorCode): void;
  /** A callback shed for overload (also counted as refused `overloaded`). */
  shed(): void;
  /** A fallback decision: `timeout`, `handler_error`, `shutdown`, `no_handler`. */
  fallback(reason: string): void;
  /** One call to Stream's API: the HTTP status, or `network` / `aborted` / `error`. */
  apiRequest(operation: 'commit' | 'delete', status: string): void;
  /** A retry answered from the dedupe store without running the handler. */
  dedupeHit(): void;
  /** The registry these metrics live in (for `GET /metrics`), when any. */
  readonly registry: Registry | undefined;
}

const nothing = () => {};

export const noMetrics: HookMetrics = Object.freeze({
  callback: nothing,
  refused: nothing,
  shed: nothing,
  fallback: nothing,
  apiRequest: nothing,
  dedupeHit: nothing,
  registry: undefined,
});

export interface MetricsOptions {
  /** Where to register. Default: a registry of its own (not prom-client's global one). */
  registry?: Registry;
  /** Also collect node's process metrics (CPU, memory, event loop, GC). Default true. */
  defaultMetrics?: boolean;
}

/**
 * prom-client metrics, with every label combination's child looked up once and kept, so a
 * counted callback costs a map lookup and an increment (no label object per call).
 */
export function createMetrics(options: MetricsOptions = {}): HookMetrics {
  const { collectDefaultMetrics, Counter, Histogram, Registry } = promClient();
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const callbacks = new Counter({ name: 'pending_hooks_callbacks_total', help: 'Callbacks answered with a decision or an ack, by transport, method and outcome.', labelNames: ['transport', 'method', 'outcome'], registers });
  const duration = new Histogram({
    name: 'pending_hooks_callback_duration_seconds',
    help: 'Time from a callback’s arrival to its answer, by transport.',
    labelNames: ['transport'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const budgetLeft = new Histogram({
    name: 'pending_hooks_budget_left_seconds',
    help: 'What was left of timeoutMs when the answer went out (negative: late).',
    buckets: [0, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 1, 2, 5],
    registers,
  });
  const fallbacks = new Counter({ name: 'pending_hooks_fallbacks_total', help: 'Fallback decisions, by reason.', labelNames: ['reason'], registers });
  const refused = new Counter({ name: 'pending_hooks_refused_total', help: 'Requests refused before any handler, by error code.', labelNames: ['code'], registers });
  const apiRequests = new Counter({ name: 'pending_hooks_stream_api_requests_total', help: 'Calls to Stream’s API, by operation and HTTP status (or network / aborted).', labelNames: ['operation', 'status'], registers });
  const dedupeHits = new Counter({ name: 'pending_hooks_dedupe_hits_total', help: 'Retries answered from the dedupe store without running the handler.', registers });
  const shed = new Counter({ name: 'pending_hooks_shed_total', help: 'Callbacks answered 503 overloaded (too many in flight, or the event loop too late).', registers });

  const children = new Map<string, { inc(): void }>();
  const durations = new Map<string, { observe(value: number): void }>();
  function child(counter: CounterType<string>, key: string, labels: Record<string, string>): { inc(): void } {
    let found = children.get(key);
    if (found === undefined) {
      found = counter.labels(labels);
      children.set(key, found);
    }
    return found;
  }

  return {
    registry,
    callback(transport, method, outcome, seconds, budgetLeftSeconds) {
      child(callbacks, `c\n${transport}\n${method}\n${outcome}`, { transport, method, outcome }).inc();
      let observer = durations.get(transport);
      if (observer === undefined) {
        observer = duration.labels({ transport });
        durations.set(transport, observer);
      }
      observer.observe(seconds);
      budgetLeft.observe(budgetLeftSeconds);
    },
    refused(code) {
      child(refused, `r\n${code}`, { code }).inc();
    },
    shed() {
      shed.inc();
    },
    fallback(reason) {
      child(fallbacks, `f\n${reason}`, { reason }).inc();
    },
    apiRequest(operation, status) {
      child(apiRequests, `a\n${operation}\n${status}`, { operation, status }).inc();
    },
    dedupeHit() {
      dedupeHits.inc();
    },
  };
}
