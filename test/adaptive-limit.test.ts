import { describe, expect, it } from 'vitest';
import { createAdaptiveLimit } from '../src/core/adaptive-limit.js';

/**
 * The learned in-flight limit against simulated servers (1 ms steps, simulated clock): a server
 * whose CPU saturates, one whose handler only waits, and one whose handler becomes slower for
 * good. The shedder itself is exercised end to end in test/production/overload.test.ts; this
 * checks the control law where the load can be exact.
 */
interface Model {
  /** Callbacks offered per second. */
  rate: number;
  /** The handler's wait, ms, at time t (ms). */
  waitMs(t: number): number;
  /** CPU per callback, ms, shared by those computing (processor sharing on one core). */
  cpuMs: number;
}

interface Run {
  admitted: number;
  shed: number;
  latencies: number[];
  limits: number[];
}

function simulate(model: Model, fromMs: number, toMs: number, budgetMs = 500, max = 1000, learn = true): Run {
  const limit = createAdaptiveLimit({ max, budgetMs });
  const computing: { cpu: number; start: number; wait: number }[] = [];
  const waiting: { until: number; start: number }[] = [];
  const out: Run = { admitted: 0, shed: 0, latencies: [], limits: [] };
  let due = 0;
  for (let t = 0; t < toMs; t++) {
    due += model.rate / 1000;
    for (; due >= 1; due--) {
      const inFlight = computing.length + waiting.length;
      if (inFlight >= (learn ? limit.current : max)) {
        if (t >= fromMs) out.shed++;
        continue;
      }
      limit.admitted(inFlight + 1);
      computing.push({ cpu: model.cpuMs, start: t, wait: model.waitMs(t) });
      if (t >= fromMs) out.admitted++;
    }
    const share = computing.length > 0 ? 1 / computing.length : 0;
    for (let i = computing.length - 1; i >= 0; i--) {
      const job = computing[i]!;
      job.cpu -= share;
      if (job.cpu <= 0) {
        computing.splice(i, 1);
        waiting.push({ until: t + job.wait, start: job.start });
      }
    }
    for (let i = waiting.length - 1; i >= 0; i--) {
      const job = waiting[i]!;
      if (job.until > t) continue;
      waiting.splice(i, 1);
      limit.finished(t - job.start, t, computing.length + waiting.length);
      if (t >= fromMs) out.latencies.push(t - job.start);
    }
    if (t % 100 === 0 && t >= fromMs) out.limits.push(limit.current);
  }
  return out;
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.floor(values.length * q)]!;

describe('adaptive in-flight limit', () => {
  it('a server whose CPU saturates: the limit falls to what it answers in time, at nearly full throughput', () => {
    // 1.4 ms of CPU per callback (~700/s on one core) and a 50–300 ms wait; 1,800/s offered.
    const model: Model = { rate: 1800, cpuMs: 1.4, waitMs: () => 50 + Math.random() * 250 };
    const adaptive = simulate(model, 5000, 20_000);
    const fixed = simulate(model, 5000, 20_000, 500, 1000, false);

    const seconds = 15;
    expect(adaptive.latencies.length / seconds).toBeGreaterThan(0.9 * (1000 / 1.4));
    expect(mean(adaptive.latencies)).toBeLessThan(0.6 * 500);
    expect(quantile(adaptive.latencies, 0.99)).toBeLessThan(500);
    expect(Math.max(...adaptive.limits)).toBeLessThan(400);
    // Without it the same server answers as many, each seconds late.
    expect(quantile(fixed.latencies, 0.5)).toBeGreaterThan(1000);
  });

  it('a handler that only waits: nothing is shed below the ceiling', () => {
    // 5,000/s × 175 ms ≈ 875 in flight, under the 1000 ceiling.
    const run = simulate({ rate: 5000, cpuMs: 0.01, waitMs: () => 50 + Math.random() * 250 }, 2000, 12_000);
    expect(run.shed / (run.shed + run.admitted)).toBeLessThan(0.005);
    expect(Math.min(...run.limits)).toBe(1000);
  });

  it('a handler that becomes slower (100 → 350 ms) under the ceiling: nothing is shed', () => {
    const run = simulate({ rate: 2500, cpuMs: 0.01, waitMs: (t: number) => (t < 5000 ? 100 : 350) }, 0, 15_000);
    expect(run.shed).toBe(0);
  });

  it('a handler slower than half the budget, offered more than the ceiling: cut to the floor once, then learned', () => {
    // 4,000/s × 350 ms = 1,400 wanted in flight: over the 1000 ceiling, so the limit binds and the
    // 350 ms look like queueing until the floor shows they are not.
    const model: Model = { rate: 4000, cpuMs: 0.01, waitMs: () => 350 };
    const adaptive = simulate(model, 10_000, 30_000);
    const fixed = simulate(model, 10_000, 30_000, 500, 1000, false);
    expect(Math.min(...adaptive.limits)).toBe(1000);
    expect(adaptive.admitted).toBeGreaterThan(0.98 * fixed.admitted);
  });

  it('a window in which another bound shed every arrival cuts from what was in flight, not to the floor', () => {
    const limit = createAdaptiveLimit({ max: 1000, budgetMs: 500 });
    // 200 in flight, the event-loop bound shedding every arrival (none admitted), answers at 300 ms.
    let now = 0;
    for (let i = 0; i < 20; i++) {
      limit.shed();
      limit.finished(300, (now += 10), 200 - i);
    }
    expect(limit.current).toBeGreaterThanOrEqual(100);
    expect(limit.current).toBeLessThan(200);
  });

  it('starts at the ceiling and never leaves [min, max]', () => {
    const limit = createAdaptiveLimit({ max: 50, budgetMs: 500 });
    expect(limit.current).toBe(50);
    let now = 0;
    for (let i = 0; i < 5000; i++) {
      limit.admitted(50);
      limit.finished(i < 2500 ? 10 + i : 10, (now += 5), 50);
      expect(limit.current).toBeGreaterThanOrEqual(10);
      expect(limit.current).toBeLessThanOrEqual(50);
    }
    expect(limit.current).toBe(50);
  });
});
