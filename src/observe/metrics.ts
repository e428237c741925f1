import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import { AfterAnswers } from '../core/after-answers.js';
import type { HookErrorCode } from '../core/hook-error.js';

/** prom-client, loaded the first time metrics are asked for: a server without metrics never loads it. */
function promClient(): typeof import('prom-client') {
  return createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
}

/** What a callback came to, as counted: the decision, an ack, or why there is none. */
export type CallbackOutcome = 'commit' | 'delete' | 'keep_pending' | 'accepted' | 'deleted' | 'not_applied' | 'error';

/** What an event delivery came to: its handlers ran, one failed, none matched, or a retry already handled. */
export type EventOutcome = 'handled' | 'failed' | 'unhandled' | 'duplicate';

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
  /** An event delivered (webhook, SQS, SNS): its type (`other` for unlisted ones), how it came, what came of it, how long its handlers took. */
  event(type: string, via: string, outcome: EventOutcome, seconds: number): void;
  /** Where the in-flight gauges read from (the shedder): callbacks in flight, and the limit now. */
  watchInFlight(read: { readonly inFlight: number; readonly limit: number }): void;
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
  event: nothing,
  watchInFlight: nothing,
  registry: undefined,
});

export interface MetricsOptions {
  /** Where to register. Default: a registry of its own (not prom-client's global one). */
  registry?: Registry;
  /** Also collect node's process metrics (CPU, memory, heap, event-loop lag, handles). Default true. */
  defaultMetrics?: boolean;
  /**
   * Also the GC pause histogram (`nodejs_gc_duration_seconds`). Default false: its observer runs
   * on every collection and cost ~4% of REST throughput in the bench.
   */
  gcMetrics?: boolean;
}

/** prom-client's default collectors (lib/defaultMetrics.js), by module: all but `gc` unless asked. */
const processCollectors = [
  'processCpuTotal',
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
];

function collectProcessMetrics(registry: Registry, withGc: boolean): void {
  const require = createRequire(import.meta.url);
  const config = { register: registry, eventLoopMonitoringPrecision: 10 };
  for (const name of withGc ? [...processCollectors, 'gc'] : processCollectors) {
    (require(`prom-client/lib/metrics/${name}`) as (register: Registry, config: object) => void)(registry, config);
  }
}

/**
 * Prometheus metrics. Counting is on every callback's path, so it never touches prom-client
 * there: each count is a number in a cell found through at most three map lookups (no string
 * built, nothing allocated once a label combination was seen), and prom-client reads the cells
 * when scraped, through metric objects registered in its registry. (Counting through
 * prom-client's own Counter and Histogram cost 18% of REST throughput in the bench.) An answered
 * callback is counted in the check phase of its event-loop turn, after the turn's answers are
 * written: a scrape may miss the callbacks of the turn it arrives in, never more.
 */
interface AnsweredCallback {
  readonly transport: string;
  readonly method: string;
  readonly outcome: string;
  readonly seconds: number;
  readonly budgetLeftSeconds: number;
}

export function createMetrics(options: MetricsOptions = {}): HookMetrics {
  const { Registry } = promClient();
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) collectProcessMetrics(registry, options.gcMetrics ?? false);

  const callbacks = new CounterFamily('pending_hooks_callbacks_total', 'Callbacks answered with a decision or an ack, by transport, method and outcome.', ['transport', 'method', 'outcome']);
  const duration = new HistogramFamily('pending_hooks_callback_duration_seconds', 'Time from a callback’s arrival to its answer, by transport.', ['transport'], [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]);
  const budgetLeft = new HistogramFamily('pending_hooks_budget_left_seconds', 'What was left of timeoutMs when the answer went out (negative: late).', [], [0, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 1, 2, 5]);
  const fallbacks = new CounterFamily('pending_hooks_fallbacks_total', 'Fallback decisions, by reason.', ['reason']);
  const refused = new CounterFamily('pending_hooks_refused_total', 'Requests refused before any handler, by error code.', ['code']);
  const apiRequests = new CounterFamily('pending_hooks_stream_api_requests_total', 'Calls to Stream’s API, by operation and HTTP status (or network / aborted).', ['operation', 'status']);
  const dedupeHits = new CounterFamily('pending_hooks_dedupe_hits_total', 'Retries answered from the dedupe store without running the handler.', []);
  const shed = new CounterFamily('pending_hooks_shed_total', 'Callbacks answered 503 overloaded (too many in flight, or the event loop too late).', []);
  const events = new CounterFamily('pending_hooks_events_total', 'Events delivered, by type (other: types without a typed payload), delivery channel and outcome.', ['type', 'via', 'outcome']);
  const eventDuration = new HistogramFamily('pending_hooks_event_handling_seconds', 'Time from an event’s arrival until its handlers settled, by delivery channel.', ['via'], [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30]);
  const inFlight = new ReadGauge('pending_hooks_in_flight', 'Callbacks being decided now.');
  const inFlightLimit = new ReadGauge('pending_hooks_in_flight_limit', 'Callbacks allowed in flight now: learned from latency (see shedding.adaptive), at most maxInFlight.');
  for (const metric of [callbacks, duration, budgetLeft, fallbacks, refused, apiRequests, dedupeHits, shed, events, eventDuration, inFlight, inFlightLimit]) {
    registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
  }
  const budgetCell = budgetLeft.cell([]);
  const dedupeCell = dedupeHits.cell([]);
  const shedCell = shed.cell([]);

  /** Answered callbacks, counted once this turn's answers are out. */
  const answered = new AfterAnswers<AnsweredCallback>(({ transport, method, outcome, seconds, budgetLeftSeconds }) => {
    callbacks.cell3(transport, method, outcome).value++;
    duration.observe(duration.cell1(transport), seconds);
    budgetLeft.observe(budgetCell, budgetLeftSeconds);
  });

  return {
    registry,
    callback(transport, method, outcome, seconds, budgetLeftSeconds) {
      answered.push({ transport, method, outcome, seconds, budgetLeftSeconds });
    },
    refused(code) {
      refused.cell1(code).value++;
    },
    shed() {
      shedCell.value++;
    },
    fallback(reason) {
      fallbacks.cell1(reason).value++;
    },
    apiRequest(operation, status) {
      apiRequests.cell2(operation, status).value++;
    },
    dedupeHit() {
      dedupeCell.value++;
    },
    event(type, via, outcome, seconds) {
      events.cell3(type, via, outcome).value++;
      eventDuration.observe(eventDuration.cell1(via), seconds);
    },
    watchInFlight(read) {
      inFlight.read = () => read.inFlight;
      inFlightLimit.read = () => (Number.isFinite(read.limit) ? read.limit : Number.NaN);
    },
  };
}

/** A gauge read when scraped (nothing to update on the hot path). */
class ReadGauge {
  readonly type = 'gauge';
  readonly aggregator = 'sum';
  read: () => number = () => 0;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  get() {
    return { name: this.name, help: this.help, type: this.type, values: [{ labels: {}, value: this.read() }], aggregator: this.aggregator };
  }
  reset(): void {}
}

interface CounterCell {
  labels: Record<string, string>;
  value: number;
}

interface HistogramCell {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative), the last one +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** Cells by label values, one map level per label. */
abstract class Family<Cell> {
  protected readonly root = new Map<string, unknown>();
  protected readonly cells: Cell[] = [];
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    protected readonly labelNames: readonly string[],
  ) {}

  protected abstract make(labels: Record<string, string>): Cell;

  cell(values: readonly string[]): Cell {
    if (values.length === 0) {
      if (this.cells.length === 0) this.cells.push(this.make({}));
      return this.cells[0]!;
    }
    let level = this.root;
    for (let i = 0; i < values.length - 1; i++) {
      let next = level.get(values[i]!) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(values[i]!, next);
      }
      level = next;
    }
    const last = values[values.length - 1]!;
    let found = level.get(last) as Cell | undefined;
    if (found === undefined) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i]!));
      found = this.make(labels);
      level.set(last, found);
      this.cells.push(found);
    }
    return found;
  }

  /** The hot paths: no array built for the label values once the cell exists. */
  cell1(a: string): Cell {
    return (this.root.get(a) as Cell | undefined) ?? this.cell([a]);
  }

  cell2(a: string, b: string): Cell {
    return ((this.root.get(a) as Map<string, unknown> | undefined)?.get(b) as Cell | undefined) ?? this.cell([a, b]);
  }

  cell3(a: string, b: string, c: string): Cell {
    return (((this.root.get(a) as Map<string, unknown> | undefined)?.get(b) as Map<string, unknown> | undefined)?.get(c) as Cell | undefined) ?? this.cell([a, b, c]);
  }

  reset(): void {
    this.root.clear();
    this.cells.length = 0;
  }
}

class CounterFamily extends Family<CounterCell> {
  readonly type = 'counter';
  protected make(labels: Record<string, string>): CounterCell {
    return { labels, value: 0 };
  }
  get() {
    const values = this.cells.map((cell) => ({ labels: cell.labels, value: cell.value }));
    if (this.labelNames.length === 0 && values.length === 0) values.push({ labels: {}, value: 0 });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

class HistogramFamily extends Family<HistogramCell> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected make(labels: Record<string, string>): HistogramCell {
    return { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }
  observe(cell: HistogramCell, value: number): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    cell.counts[i]!++;
    cell.sum += value;
    cell.count++;
  }
  get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const cell of this.cells) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += cell.counts[i]!;
        values.push({ labels: { ...cell.labels, le: i < this.bounds.length ? this.bounds[i]! : '+Inf' }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: cell.labels, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels: cell.labels, value: cell.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
