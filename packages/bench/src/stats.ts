/** Order statistics of repeated measurements; every figure the benchmark prints comes from here. */
export interface Summary {
  n: number;
  min: number;
  p25: number;
  p50: number;
  p75: number;
  p99: number;
  max: number;
}

/** Linear interpolation between the closest ranks (the "R-7" definition spreadsheets use). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (sorted.length - 1) * p;
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p25: percentile(sorted, 0.25),
    p50: percentile(sorted, 0.5),
    p75: percentile(sorted, 0.75),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

export const median = (values: readonly number[]): number => summarize(values).p50;

/** Milliseconds with precision that fits their size. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return value.toFixed(0);
}

export function seconds(valueMs: number): string {
  return Number.isFinite(valueMs) ? (valueMs / 1000).toFixed(2) : '-';
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : '-';
}

/** "12.3 (11.9-13.0)": the median with the interquartile range as its spread. */
export function withSpread(s: Summary, format: (v: number) => string = ms): string {
  return `${format(s.p50)} (${format(s.p25)}-${format(s.p75)})`;
}

export function mb(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(0)} MB` : '-';
}

/** A monotonic clock in milliseconds. */
export const now = (): number => performance.now();

/** Wall-clock milliseconds with sub-millisecond resolution, comparable with the engines' own event times. */
export const wallMs = (): number => performance.timeOrigin + performance.now();

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = now();
  const value = await fn();
  return { ms: now() - started, value };
}
