/** Told once, when its deadline comes (unless it was removed first). */
export interface DeadlineEntry {
  deadlineReached(): void;
}

/** How far out of order a deadline may be queued (ms): node's timers are no finer than this either. */
const toleranceMs = 1;
/** Passed slots are dropped from the front once this many have gathered (and they are half the queue). */
const compactAfter = 1024;

/**
 * One timer for the deadlines of many requests. A server's callbacks share one budget, so their
 * deadlines (arrival + budget) mostly come in the order they are queued: a FIFO whose head is
 * the next deadline, one node timer waiting for it, instead of a timer made and cleared per
 * decision applied (measured: that per-callback timer was part of what kept the applied path
 * below the hand-written route; bench/RESULTS.md). `add` refuses a deadline more than 1 ms
 * earlier than the latest queued (another budget in the process, a handler that took longer
 * than the next one's): its owner then uses a timer of its own.
 *
 * Removal is O(1): the slot is emptied, and emptied slots are skipped when the head moves. While
 * nothing is queued no timer is pending, so an idle process can exit.
 */
export class DeadlineQueue {
  private entries: (DeadlineEntry | undefined)[] = [];
  private deadlines: number[] = [];
  /** Index of the first slot not yet passed. */
  private head = 0;
  /** Slot number of `entries[0]`: slot numbers only grow, so a stale one never matches. */
  private base = 0;
  private live = 0;
  private latest = -Infinity;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** The deadline the pending timer waits for. */
  private timerFor = 0;

  /** How many entries wait (for tests and gauges). */
  get size(): number {
    return this.live;
  }

  /**
   * Queues `entry` for `deadlineAt` (a `performance.now()` instant). Returns its slot, for
   * `remove`, or -1 when the deadline is too far out of order to be queued.
   */
  add(entry: DeadlineEntry, deadlineAt: number): number {
    if (deadlineAt < this.latest - toleranceMs) return -1;
    if (deadlineAt > this.latest) this.latest = deadlineAt;
    const slot = this.base + this.entries.length;
    this.entries.push(entry);
    this.deadlines.push(deadlineAt);
    this.live++;
    if (this.timer === undefined) this.schedule();
    return slot;
  }

  /** Takes `entry` out of `slot` (a no-op when its deadline already came or it was removed). */
  remove(slot: number, entry: DeadlineEntry): void {
    const index = slot - this.base;
    if (index < this.head || this.entries[index] !== entry) return;
    this.entries[index] = undefined;
    if (--this.live === 0) this.reset();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    // node counts a timer from the loop's cached clock, which lags performance.now() when the
    // turn that set it was busy: the timer can come milliseconds early. Then it waits for the rest.
    if (now < this.timerFor - toleranceMs) {
      this.schedule();
      return;
    }
    // Within the tolerance the deadline has come (node's timers are no finer than a millisecond).
    const due = Math.max(now, this.timerFor);
    const { entries, deadlines } = this;
    while (this.head < entries.length) {
      const entry = entries[this.head];
      if (entry !== undefined) {
        if (deadlines[this.head]! > due) break;
        entries[this.head] = undefined;
        this.live--;
      }
      this.head++;
      // Told after its slot is passed: whatever it does (removing itself, queueing another) sees a consistent queue.
      entry?.deadlineReached();
    }
    if (this.live === 0) this.reset();
    else if (this.timer === undefined) this.schedule();
  };

  /** Sets the timer for the first live entry (skipping emptied slots) and drops a long passed prefix. */
  private schedule(): void {
    const { entries } = this;
    while (this.head < entries.length && entries[this.head] === undefined) this.head++;
    if (this.head >= compactAfter && this.head * 2 >= entries.length) {
      entries.splice(0, this.head);
      this.deadlines.splice(0, this.head);
      this.base += this.head;
      this.head = 0;
    }
    if (this.head >= entries.length) return;
    this.timerFor = this.deadlines[this.head]!;
    this.timer = setTimeout(this.fire, Math.max(1, this.timerFor - performance.now()));
  }

  /** Nothing waits: no timer, no slots kept. */
  private reset(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.base += this.entries.length;
    this.entries.length = 0;
    this.deadlines.length = 0;
    this.head = 0;
    this.latest = -Infinity;
  }
}
