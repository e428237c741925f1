import { createAdaptiveLimit } from './adaptive-limit.js';
import { HookError } from './hook-error.js';
import { delayIfSampledNow, eventLoopDelayMs, samplerOverdueMs } from './loop-clock.js';

/** When callbacks are refused at once (503 `overloaded`) rather than queued to miss their budget. */
export interface LoadSheddingOptions {
  /**
   * Callbacks being decided at once, at most; one more is answered 503 `overloaded` before its
   * body is decoded, and Stream retries it. Default 1000. `Infinity` turns the bound off.
   * With `adaptive` (the default) this is the ceiling of the learned limit.
   */
  maxInFlight?: number;
  /**
   * Learn the in-flight limit from latency (default true): it starts at `maxInFlight`, is cut
   * when callbacks take longer than 1.5 × their usual time (at most 60% of the budget) and
   * raised again while they do not. This is what keeps a handler that computes, or an API that
   * slows down, from queueing answers past their budget under a bound sized for a handler that
   * only waits. `false`: the fixed `maxInFlight`.
   */
  adaptive?: boolean;
  /**
   * Event-loop delay, in ms, over which new callbacks are shed: a loop this late makes every
   * answer late. Measured every 10 ms and smoothed (see `loop-clock.ts`), so one long GC pause does not shed a burst.
   * Default 150. `Infinity` turns the check off.
   */
  maxEventLoopDelayMs?: number;
}

export interface LoadShedder {
  /** Called before a callback's body is decoded: the refusal when it must be shed. */
  admit(): HookError | undefined;
  /** A callback started / finished being decided. */
  enter(): void;
  leave(): void;
  /** A callback that was dispatched (not refused) was answered `latencyMs` after its bytes arrived, at `now` (`performance.now()`). */
  finished(latencyMs: number, now: number): void;
  /** Callbacks being decided now. */
  readonly inFlight: number;
  /** Callbacks allowed in flight now (the learned limit, or `maxInFlight`). */
  readonly limit: number;
  /** The smoothed event-loop delay, ms. */
  readonly eventLoopDelayMs: number;
}

export const defaultMaxInFlight = 1000;
export const defaultMaxEventLoopDelayMs = 150;

/**
 * Bounds the work a burst can queue. In flight counts callbacks from signature check to answer;
 * the event-loop delay comes from the thread's loop clock (a 10 ms timer, smoothed), and also
 * from how overdue that timer is right now, so a loop that is busy this instant is seen before
 * the timer gets to run.
 */
export function createLoadShedder(options: LoadSheddingOptions = {}, budgetMs: number): LoadShedder {
  const maxInFlight = options.maxInFlight ?? defaultMaxInFlight;
  const maxDelay = options.maxEventLoopDelayMs ?? defaultMaxEventLoopDelayMs;
  for (const [name, value] of [['maxInFlight', maxInFlight], ['maxEventLoopDelayMs', maxDelay]] as const) {
    if (!(value > 0)) throw new RangeError(`pending-hooks: ${name} must be a positive number or Infinity (got ${value})`);
  }
  const tooMany = new HookError('overloaded', `more than ${maxInFlight} callbacks in flight; retry`);
  const adaptive = options.adaptive !== false && Number.isFinite(maxInFlight) ? createAdaptiveLimit({ max: maxInFlight, budgetMs }) : undefined;
  const overLearned = new HookError('overloaded', 'more callbacks in flight than are answered in time now; retry');
  const tooLate = new HookError('overloaded', `the event loop is more than ${maxDelay} ms late; retry`);
  const watchDelay = Number.isFinite(maxDelay);
  let inFlight = 0;

  function refusalNow(): HookError | undefined {
    if (inFlight >= maxInFlight) return tooMany;
    if (adaptive !== undefined && inFlight >= adaptive.current) return overLearned;
    if (!watchDelay) return undefined;
    if (eventLoopDelayMs() > maxDelay) return tooLate;
    if (samplerOverdueMs() > maxDelay && delayIfSampledNow() > maxDelay) return tooLate;
    return undefined;
  }

  return {
    admit() {
      const refusal = refusalNow();
      if (refusal !== undefined) adaptive?.shed();
      return refusal;
    },
    enter() {
      inFlight++;
      adaptive?.admitted(inFlight);
    },
    leave() {
      inFlight--;
    },
    finished(latencyMs, now) {
      adaptive?.finished(latencyMs, now, inFlight);
    },
    get inFlight() {
      return inFlight;
    },
    get limit() {
      return adaptive?.current ?? maxInFlight;
    },
    get eventLoopDelayMs() {
      return eventLoopDelayMs();
    },
  };
}
