/** Small statistics helpers over rounds (latency summaries: src/loadtest/latency.ts). */

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
