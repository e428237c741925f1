/**
 * The one latency summary of the Stream-side tools: the emulator's scenarios, `pending-hooks
 * bench`, the load driver and bench/. Latencies in milliseconds, kept to the microsecond; all 0
 * when nothing was recorded. Two recorders make it: `exactLatencyRecorder` (every sample kept,
 * nearest-rank percentiles; a scenario's tens or thousands of callbacks) and the HDR histogram of
 * `pending-hooks/loadtest` (bounded memory however long a load runs; hdr-histogram-js is an
 * optional dependency, so the emulator does not need it).
 */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface LatencyRecorder {
  /** Records one latency (ms, any precision; kept to the microsecond, at least 1 µs). */
  record(ms: number): void;
  readonly count: number;
  /** Largest latency recorded (ms). */
  readonly maxMs: number;
  summary(): LatencySummary;
  /** Forgets everything (a new interval). */
  reset(): void;
}

/** Makes recorders (one per interval or per series). */
export type LatencyRecorderFactory = () => LatencyRecorder;

export const emptyLatencySummary: Readonly<LatencySummary> = Object.freeze({ count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 });

/** Milliseconds kept to the microsecond, at least 1 µs: what both recorders store. */
export const toMicroseconds = (ms: number): number => Math.max(1, Math.round(ms * 1000));

/** Every sample kept; percentiles by nearest rank. */
export function exactLatencyRecorder(): LatencyRecorder {
  let samples: number[] = [];
  let maxUs = 0;
  return {
    record(ms) {
      const us = toMicroseconds(ms);
      samples.push(us);
      if (us > maxUs) maxUs = us;
    },
    get count() {
      return samples.length;
    },
    get maxMs() {
      return maxUs / 1000;
    },
    summary() {
      if (samples.length === 0) return { ...emptyLatencySummary };
      const sorted = Float64Array.from(samples).sort();
      const at = (percentile: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1))]! / 1000;
      let sum = 0;
      for (const us of sorted) sum += us;
      return {
        count: sorted.length,
        min: sorted[0]! / 1000,
        mean: Math.round(sum / sorted.length) / 1000,
        p50: at(50),
        p90: at(90),
        p99: at(99),
        p999: at(99.9),
        max: sorted[sorted.length - 1]! / 1000,
      };
    },
    reset() {
      samples = [];
      maxUs = 0;
    },
  };
}

/** The summary of samples in hand (ms). */
export function summarizeLatencies(samples: readonly number[]): LatencySummary {
  const recorder = exactLatencyRecorder();
  for (const ms of samples) recorder.record(ms);
  return recorder.summary();
}
