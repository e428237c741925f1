import type hdrModule from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import { importOptional } from '../optional-dependency.js';
import { emptyLatencySummary, toMicroseconds, type LatencyRecorder, type LatencyRecorderFactory, type LatencySummary } from '../emulator/latency-summary.js';

export { emptyLatencySummary, exactLatencyRecorder, type LatencyRecorder, type LatencyRecorderFactory, type LatencySummary } from '../emulator/latency-summary.js';

/**
 * The load tools' recorder of the one latency summary (`../emulator/latency-summary.ts`): an HDR
 * histogram in microseconds (3 significant digits, memory bounded however long the run).
 * hdr-histogram-js is an optional peer dependency, loaded by {@link loadLatencyRecorders}.
 */

const round3 = (value: number) => Math.round(value * 1000) / 1000;

let loading: Promise<typeof hdrModule> | undefined;

/**
 * Loads hdr-histogram-js (once) and returns a factory of recorders. Throws
 * `MissingDependencyError` naming the package when it is not installed.
 */
export async function loadLatencyRecorders(what = 'the load generator (pending-hooks bench)'): Promise<LatencyRecorderFactory> {
  loading ??= importOptional<typeof hdrModule & { default: typeof hdrModule }>('hdr-histogram-js', what).then(
    // CommonJS: node puts module.exports on `default`; some loaders (tsx) hand the exports over as they are.
    (hdr) => (typeof hdr.build === 'function' ? hdr : hdr.default),
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  const hdr = await loading;
  return () => new HdrRecorder(hdr);
}

class HdrRecorder implements LatencyRecorder {
  private readonly histogram: Histogram;
  private sumUs = 0;
  private minUs = Number.POSITIVE_INFINITY;
  private maxUs = 0;

  constructor(hdr: typeof hdrModule) {
    this.histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
  }

  record(ms: number): void {
    const us = toMicroseconds(ms);
    this.histogram.recordValue(us);
    this.sumUs += us;
    if (us < this.minUs) this.minUs = us;
    if (us > this.maxUs) this.maxUs = us;
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  get maxMs(): number {
    return this.maxUs / 1000;
  }

  summary(): LatencySummary {
    const count = this.histogram.totalCount;
    if (count === 0) return { ...emptyLatencySummary };
    // HDR answers a bucket's highest equivalent value: never above the largest one recorded.
    const at = (percentile: number) => round3(Math.min(this.histogram.getValueAtPercentile(percentile), this.maxUs) / 1000);
    return {
      count,
      min: round3(this.minUs / 1000),
      mean: round3(this.sumUs / count / 1000),
      p50: at(50),
      p90: at(90),
      p99: at(99),
      p999: at(99.9),
      max: round3(this.maxUs / 1000),
    };
  }

  reset(): void {
    this.histogram.reset();
    this.sumUs = 0;
    this.minUs = Number.POSITIVE_INFINITY;
    this.maxUs = 0;
  }
}
