import { describe, expect, it } from 'vitest';
import { DeadlineQueue, type DeadlineEntry } from '../src/core/deadline-queue.js';
import { RequestScope, requestDeadlineReached } from '../src/core/request-scope.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

/** An entry that notes when its deadline came (ms after `start`). */
function entry(log: { name: string; at: number }[], name: string, start: number): DeadlineEntry {
  return { deadlineReached: () => void log.push({ name, at: performance.now() - start }) };
}

describe('DeadlineQueue', () => {
  it('tells each entry once, in order, not before its deadline; a removed entry never; no timer left', async () => {
    const queue = new DeadlineQueue();
    const before = timers();
    const log: { name: string; at: number }[] = [];
    const start = performance.now();
    const slots = [20, 40, 40, 60, 80].map((ms, i) => ({ name: `e${i}`, ms, slot: -1, entry: entry(log, `e${i}`, start) }));
    for (const s of slots) s.slot = queue.add(s.entry, start + s.ms);
    expect(slots.every((s) => s.slot >= 0)).toBe(true);
    expect(timers()).toBeLessThanOrEqual(before + 1); // one timer for all of them
    queue.remove(slots[3]!.slot, slots[3]!.entry);
    queue.remove(slots[3]!.slot, slots[3]!.entry); // twice: a no-op
    await sleep(120);
    expect(log.map((l) => l.name)).toEqual(['e0', 'e1', 'e2', 'e4']);
    // node runs a timer up to a millisecond before performance.now() reaches it (it truncates to ms).
    for (const l of log) expect(l.at).toBeGreaterThanOrEqual(slots.find((s) => s.name === l.name)!.ms - 1.5);
    expect(queue.size).toBe(0);
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('never tells an entry early, even when node runs its timer early (the loop clock lagged a busy turn)', async () => {
    await sleep(1); // a fresh turn: the loop's clock is read at its start
    const busyUntil = performance.now() + 25;
    while (performance.now() < busyUntil) {
      // a busy turn: node will count the timer below from the turn's start, 25 ms ago
    }
    const queue = new DeadlineQueue();
    const deadline = performance.now() + 30;
    let toldAt = 0;
    queue.add({ deadlineReached: () => void (toldAt = performance.now()) }, deadline);
    await sleep(80);
    expect(toldAt).toBeGreaterThanOrEqual(deadline - 1);
    expect(queue.size).toBe(0);
  });

  it('refuses a deadline more than 1 ms earlier than the latest queued (the owner keeps a timer of its own)', () => {
    const queue = new DeadlineQueue();
    const now = performance.now();
    const first = { deadlineReached: () => undefined };
    expect(queue.add(first, now + 500)).toBeGreaterThanOrEqual(0);
    expect(queue.add({ deadlineReached: () => undefined }, now + 499.5)).toBeGreaterThanOrEqual(0);
    expect(queue.add({ deadlineReached: () => undefined }, now + 400)).toBe(-1);
    queue.remove(0, first);
    expect(queue.size).toBe(1);
  });

  it('an emptied queue stops its timer; removing everything leaves nothing pending', () => {
    const queue = new DeadlineQueue();
    const before = timers();
    const now = performance.now();
    const entries = Array.from({ length: 100 }, () => ({ deadlineReached: () => expect.fail('removed before its deadline') }));
    const slots = entries.map((e, i) => queue.add(e, now + 1000 + i));
    expect(timers()).toBeLessThanOrEqual(before + 1);
    entries.forEach((e, i) => queue.remove(slots[i]!, e));
    expect(queue.size).toBe(0);
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('keeps memory bounded under steady traffic: passed slots are dropped; a stale slot removes nothing', async () => {
    const queue = new DeadlineQueue();
    const log: { name: string; at: number }[] = [];
    const start = performance.now();
    // One entry stays queued throughout, so the queue never empties and resets.
    const keeper = entry(log, 'keeper', start);
    queue.add(keeper, start + 60);
    const stale: { slot: number; entry: DeadlineEntry }[] = [];
    for (let i = 0; i < 20_000; i++) {
      const e = { deadlineReached: () => expect.fail('removed before its deadline') };
      const slot = queue.add(e, start + 60 + i / 1000);
      queue.remove(slot, e);
      if (i < 3) stale.push({ slot, entry: e });
    }
    // `last` well after the queueing above, however long a busy machine took for it.
    const lastAt = Math.max(performance.now(), start + 80) + 60;
    const last = entry(log, 'last', start);
    queue.add(last, lastAt);
    for (const s of stale) queue.remove(s.slot, s.entry);
    expect(queue.size).toBe(2);
    await sleep(Math.max(start + 70, performance.now() + 10) - performance.now());
    expect(log.map((l) => l.name)).toEqual(['keeper']);
    // The timer passed the 20,000 removed slots: they are dropped, not kept, while `last` waits.
    expect((queue as unknown as { entries: unknown[] }).entries.length).toBe(1);
    await sleep(lastAt + 20 - performance.now());
    expect(log.map((l) => l.name)).toEqual(['keeper', 'last']);
    expect((queue as unknown as { entries: unknown[] }).entries.length).toBe(0);
  });

  it('an entry may queue another from deadlineReached', async () => {
    const queue = new DeadlineQueue();
    const log: string[] = [];
    const start = performance.now();
    queue.add({ deadlineReached: () => (log.push('first'), void queue.add({ deadlineReached: () => void log.push('second') }, performance.now() + 10)) }, start + 10);
    await sleep(60);
    expect(log).toEqual(['first', 'second']);
    expect(queue.size).toBe(0);
  });
});

describe('RequestScope deadlines on the shared queue', () => {
  it('200 scopes armed in deadline order share one timer; each aborts at its deadline with the shared reason, disarmed ones not', async () => {
    const before = timers();
    const start = performance.now();
    const scopes = Array.from({ length: 200 }, (_, i) => new RequestScope(start + 30 + i / 10));
    for (const scope of scopes) scope.arm();
    expect(timers()).toBeLessThanOrEqual(before + 1); // not 200
    for (const scope of scopes.slice(100)) scope.disarm();
    await sleep(80);
    expect(scopes.slice(0, 100).every((s) => s.aborted && s.reason === requestDeadlineReached)).toBe(true);
    expect(scopes.slice(100).some((s) => s.aborted)).toBe(false);
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('a scope whose deadline is out of the queue\'s order gets a timer of its own and still aborts on time', async () => {
    const start = performance.now();
    const late = new RequestScope(start + 200);
    late.arm();
    const early = new RequestScope(start + 30);
    early.arm(); // 170 ms before the latest queued: a timer of its own
    await sleep(60);
    expect(early.aborted).toBe(true);
    expect(early.reason).toBe(requestDeadlineReached);
    expect(late.aborted).toBe(false);
    late.disarm();
    early.disarm();
  });

  it('arming twice waits once; disarm then arm waits again', async () => {
    const start = performance.now();
    const scope = new RequestScope(start + 25);
    scope.arm();
    scope.arm();
    scope.disarm();
    await sleep(40);
    expect(scope.aborted).toBe(false);
    scope.deadlineAt = performance.now() + 10;
    scope.arm();
    await sleep(40);
    expect(scope.aborted).toBe(true);
  });
});
