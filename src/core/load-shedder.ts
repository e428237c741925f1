import { HookError } from './hook-error.js';

/** When callbacks are refused at once (503 `overloaded`) rather than queued to miss their budget. */
export interface LoadSheddingOptions {
  /**
   * Callbacks being decided at once, at most; one more is answered 503 `overloaded` before its
   * body is decoded, and Stream retries it. Default 1000. `Infinity` turns the bound off.
   */
  maxInFlight?: number;
  /**
   * Event-loop delay, in ms, over which new callbacks are shed: a loop this late makes every
   * answer late. Measured every 20 ms and smoothed, so one long GC pause does not shed a burst.
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
  /** Stops the delay sampler. */
  close(): void;
}

export const defaultMaxInFlight = 1000;
export const defaultMaxEventLoopDelayMs = 150;
const sampleEveryMs = 20;
/** Weight of the newest sample: a single 300 ms pause reads as 90 ms, a sustained 150 ms lag as 150 ms. */
const smoothing = 0.3;

/**
 * Bounds the work a burst can queue. In flight counts callbacks from signature check to answer;
 * the event-loop delay is read from a 20 ms timer (how late it fires), smoothed, and also from
 * how overdue the timer is right now, so a loop that is busy this instant is seen before the
 * timer gets to run.
 */
export function createLoadShedder(options: LoadSheddingOptions = {}): LoadShedder {
  const maxInFlight = options.maxInFlight ?? defaultMaxInFlight;
  const maxDelay = options.maxEventLoopDelayMs ?? defaultMaxEventLoopDelayMs;
  for (const [name, value] of [['maxInFlight', maxInFlight], ['maxEventLoopDelayMs', maxDelay]] as const) {
    if (!(value > 0)) throw new RangeError(`pending-hooks: ${name} must be a positive number or Infinity (got ${value})`);
  }
  const tooMany = new HookError('overloaded', `more than ${maxInFlight} callbacks in flight; retry`);
  const tooLate = new HookError('overloaded', `the event loop is more than ${maxDelay} ms late; retry`);
  let inFlight = 0;
  let delay = 0;
  let expected = performance.now() + sampleEveryMs;
  let timer: NodeJS.Timeout | undefined;
  if (Number.isFinite(maxDelay)) {
    timer = setInterval(() => {
      const now = performance.now();
      delay = delay * (1 - smoothing) + Math.max(0, now - expected) * smoothing;
      expected = now + sampleEveryMs;
    }, sampleEveryMs);
    timer.unref();
  }

  return {
    admit() {
      if (inFlight >= maxInFlight) return tooMany;
      if (timer === undefined) return undefined;
      if (delay > maxDelay) return tooLate;
      // The timer is overdue: the loop has not reached it for this long.
      const overdue = performance.now() - expected;
      if (overdue > maxDelay && delay * (1 - smoothing) + overdue * smoothing > maxDelay) return tooLate;
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
      return delay;
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
