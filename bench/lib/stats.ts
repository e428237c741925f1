/** Small statistics helpers: exact percentiles over recorded samples, medians of rounds. */

/** A growable list of latency samples (ms, sub-microsecond precision). */
export class Samples {
  private data = new Float64Array(1 << 16);
  private size = 0;

  push(value: number): void {
    if (this.size === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.size++] = value;
  }

  get count(): number {
    return this.size;
  }

  /** Exact percentiles (nearest rank), in ms. */
  summary(): LatencySummary {
    const sorted = this.data.slice(0, this.size).sort();
    const at = (p: number) => (this.size === 0 ? Number.NaN : sorted[Math.min(this.size - 1, Math.max(0, Math.ceil(p * this.size) - 1))]!);
    let total = 0;
    for (let i = 0; i < this.size; i++) total += sorted[i]!;
    return {
      count: this.size,
      mean: this.size === 0 ? Number.NaN : total / this.size,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      p999: at(0.999),
      max: this.size === 0 ? Number.NaN : sorted[this.size - 1]!,
    };
  }
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** (max − min) / median, as a fraction: how far the rounds disagree. */
export function spread(values: readonly number[]): number {
  if (values.length < 2) return 0;
  return (Math.max(...values) - Math.min(...values)) / median(values);
}

export const fmtInt = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—');
export const fmtMs = (value: number, digits = 2) => (Number.isFinite(value) ? `${value.toFixed(digits)} ms` : '—');
export const fmtRatio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '—');
export const fmtPct = (value: number) => (Number.isFinite(value) ? `${Math.round(value * 100)}%` : '—');
