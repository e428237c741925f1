import { HookError } from './hook-error.js';
import { delayIfSampledNow, eventLoopDelayMs, samplerOverdueMs } from './loop-clock.js';

/** When callbacks are refused at once (503 `overloaded`) rather than queued to miss their budget. */
export interface LoadSheddingOptions {
  /**
   * Callbacks being decided at once, at most; one more is answered 503 `overloaded` before its
   * body is decoded, and Stream retries it. Default 1000. `Infinity` turns the bound off.
   */
  maxInFlight?: number;
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
  /** Callbacks being decided now. */
  readonly inFlight: number;
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
export function createLoadShedder(options: LoadSheddingOptions = {}): LoadShedder {
  const maxInFlight = options.maxInFlight ?? defaultMaxInFlight;
  const maxDelay = options.maxEventLoopDelayMs ?? defaultMaxEventLoopDelayMs;
  for (const [name, value] of [['maxInFlight', maxInFlight], ['maxEventLoopDelayMs', maxDelay]] as const) {
    if (!(value > 0)) throw new RangeError(`pending-hooks: ${name} must be a positive number or Infinity (got ${value})`);
  }
  const tooMany = new HookError('overloaded', `more than ${maxInFlight} callbacks in flight; retry`);
  const tooLate = new HookError('overloaded', `the event loop is more than ${maxDelay} ms late; retry`);
  const watchDelay = Number.isFinite(maxDelay);
  let inFlight = 0;

  return {
    admit() {
      if (inFlight >= maxInFlight) return tooMany;
      if (!watchDelay) return undefined;
      if (eventLoopDelayMs() > maxDelay) return tooLate;
      if (samplerOverdueMs() > maxDelay && delayIfSampledNow() > maxDelay) return tooLate;
      return undefined;
    },
    enter() {
      inFlight++;
    },
    leave() {
      inFlight--;
    },
    get inFlight() {
      return inFlight;
    },
    get eventLoopDelayMs() {
      return eventLoopDelayMs();
    },
  };
}
