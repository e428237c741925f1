/**
 * How late this thread's event loop runs, and when a request's bytes most likely arrived.
 *
 * A request is seen only when the loop gets to it, and a busy loop hides its arrival twice: the
 * turn that delivers it first runs every event ahead of it (hundreds of callbacks in a burst),
 * and before that turn the bytes waited in the socket while the loop was busy. Stream's clock
 * started when it sent them, so a budget counted from the moment we see the request ends after
 * Stream's does. `arrivalTime()` takes both out: every request of one turn gets the time the
 * turn's first request was seen, less how long the loop was stuck — the larger of how late the
 * 10 ms sampler last fired (the turn before) and how overdue it is now (this turn). What remains
 * unseen is at most one sampler period.
 *
 * One sampler per thread (the loop is the thread's): started on first use, unref'd.
 */
const sampleEveryMs = 10;
/** Weight of the newest sample: a single 300 ms pause reads as 90 ms, a sustained 150 ms lag as 150 ms. */
const smoothing = 0.3;

let sampler: NodeJS.Timeout | undefined;
let expected = 0;
let lastLateMs = 0;
let smoothedMs = 0;
/** The arrival time given to the current loop turn's requests; -1 between turns. */
let turnArrival = -1;

function sample(): void {
  const now = performance.now();
  lastLateMs = Math.max(0, now - expected);
  smoothedMs = smoothedMs * (1 - smoothing) + lastLateMs * smoothing;
  expected = now + sampleEveryMs;
}

function startSampler(): void {
  expected = performance.now() + sampleEveryMs;
  sampler = setInterval(sample, sampleEveryMs);
  sampler.unref();
}

function endTurn(): void {
  turnArrival = -1;
}

/** The time (`performance.now()` scale) the bytes of a request seen now most likely arrived. */
export function arrivalTime(): number {
  if (turnArrival < 0) {
    if (sampler === undefined) startSampler();
    const now = performance.now();
    turnArrival = now - Math.max(lastLateMs, now - expected);
    // Runs right after this turn's I/O callbacks: the next turn's requests get a stamp of their own.
    setImmediate(endTurn);
  }
  return turnArrival;
}

/** The event-loop delay, ms, smoothed over the last samples. */
export function eventLoopDelayMs(): number {
  if (sampler === undefined) startSampler();
  return smoothedMs;
}

/**
 * How long the sampler is overdue right now, ms: a loop busy this instant is seen before the
 * sampler gets to run and report it.
 */
export function samplerOverdueMs(): number {
  if (sampler === undefined) startSampler();
  return performance.now() - expected;
}

/** The smoothed delay the next sample would report if the sampler ran now. */
export function delayIfSampledNow(): number {
  return smoothedMs * (1 - smoothing) + Math.max(0, samplerOverdueMs()) * smoothing;
}
