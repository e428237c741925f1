/**
 * How many callbacks may be in flight, learned from their latency and the budget.
 *
 * Why not a constant: the right bound is throughput × latency, and both depend on the handler.
 * A handler that only waits 175 ms needs ~1000 in flight to serve 5,700/s; one that computes
 * 1 ms serves ~700/s and, given 1000 in flight, queues every answer past its budget (measured in
 * bench/shedding.ts). Little's law gives the bound that keeps answers in time — throughput ×
 * the latency we can afford — so the limit steers the mean latency of each window (≥ 100 ms
 * and ≥ 10 answers) towards half the budget, which leaves the other half for the slow tail and
 * the decision's API call:
 * - over the target while the limit binds (≥ 90% of it in flight, or callbacks were shed by
 *   another bound, the event-loop delay), or over 1.5 × the target at all (a saturated CPU
 *   queues hundreds past their budget while the count still climbs): cut what was in flight in
 *   proportion (at most by half), then no cut for one window's latency, so the cut shows
 *   before the next;
 * - under it while the limit binds: raise by √limit (by up to 10% when well under), up to `max`
 *   (where it starts);
 * - otherwise nothing: demand is served, and a somewhat slow window is the handler's own (or a
 *   ramp's), not a queue's.
 * A handler slower than the target at any load would be cut to the floor; at the floor, with
 * few in flight, its latency cannot be queueing, so the target becomes 1.2 × that latency, the
 * limit goes back to half of what it was before the cuts and grows from there (the learned
 * target decays by ~1% a second towards half the budget while answers come in under 1/1.2 of it)..
 * In the manner of Netflix's concurrency-limits (gradient limiters), with the budget in place
 * of a measured no-load latency: a busy server whose answers take 5 ms of a 500 ms budget is
 * not overloaded, whatever its no-load latency was.
 */
export interface AdaptiveLimit {
  /** Callbacks allowed in flight now. */
  readonly current: number;
  /** The mean latency the limit steers towards, ms: half the budget, or learned from a slower handler. */
  readonly targetMs: number;
  /** A callback was admitted while `inFlight` (itself included) were in flight. */
  admitted(inFlight: number): void;
  /** A callback was shed, by this limit or another bound (the event-loop delay): demand exceeds what is admitted. */
  shed(): void;
  /** A callback that was dispatched finished, `latencyMs` after its bytes arrived, leaving `inFlight` in flight. */
  finished(latencyMs: number, now: number, inFlight: number): void;
}

export interface AdaptiveLimitOptions {
  /** The ceiling (and the start). */
  max: number;
  /** The floor. Default 10. */
  min?: number;
  /** The callback budget, ms: the target is half of it. */
  budgetMs: number;
}

const windowMs = 100;
const windowSamples = 10;
const budgetShare = 0.5;
/** Per window: ~1% a second at 100 ms windows. */
const learnedDecay = 0.999;

export function createAdaptiveLimit(options: AdaptiveLimitOptions): AdaptiveLimit {
  const max = options.max;
  const min = Math.min(options.min ?? 10, max);
  const budgetTarget = budgetShare * options.budgetMs;
  let target = budgetTarget;
  let limit = max;
  let windowStart = -1;
  let sum = 0;
  let count = 0;
  let peak = 0;
  let shedInWindow = false;
  let holdCutsUntil = 0;
  /** The limit before the current run of cuts began (reset when the limit grows). */
  let limitBeforeCuts = 0;

  function closeWindow(now: number): void {
    const latency = sum / count;
    const busiest = peak;
    const binds = shedInWindow || peak >= 0.9 * limit;
    windowStart = now;
    sum = 0;
    count = 0;
    peak = 0;
    shedInWindow = false;
    // A learned target decays only while answers come well under it (the handler got faster).
    if (target > budgetTarget && 1.2 * latency < target) target = Math.max(budgetTarget, target * learnedDecay);
    if (limit === min && latency > target && now >= holdCutsUntil) {
      // Cut to the floor, the queue from before drained, and still slow: not a queue. Learn the
      // handler's time; give back half.
      target = 1.2 * latency;
      limit = Math.max(min, Math.floor(limitBeforeCuts / 2));
      return;
    }
    // Far over the target the limit is cut even before it binds: a server whose CPU saturates
    // queues hundreds past their budget while the count still climbs towards the limit.
    if (latency > target && (binds || latency > 1.5 * target)) {
      if (now < holdCutsUntil) return;
      if (limitBeforeCuts === 0) limitBeforeCuts = limit;
      // From what was in flight: under another bound (the event loop's) that may be far below the limit.
      limit = Math.max(min, Math.floor(Math.min(limit, busiest) * Math.max(0.5, target / latency)));
      // The next cut waits for callbacks admitted under this one to answer.
      holdCutsUntil = now + latency;
    } else if (binds && latency <= target && limit < max) {
      limitBeforeCuts = 0;
      // √limit, or up to 10% when latency is well under the target (recovering from a cut).
      limit = Math.min(max, Math.ceil(limit + Math.max(Math.sqrt(limit), limit * Math.min(0.1, (target / latency - 1) / 2))));
    }
  }

  return {
    get current() {
      return limit;
    },
    get targetMs() {
      return target;
    },
    admitted(inFlight) {
      if (inFlight > peak) peak = inFlight;
    },
    shed() {
      shedInWindow = true;
    },
    finished(latencyMs, now, inFlight) {
      if (windowStart < 0) windowStart = now;
      // A window in which the event-loop bound shed every arrival admitted none, yet had these in flight.
      if (inFlight > peak) peak = inFlight;
      sum += latencyMs;
      count++;
      if (count >= windowSamples && now - windowStart >= windowMs) closeWindow(now);
    },
  };
}
