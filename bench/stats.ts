import type { Summary } from './types';

/** Thrown when a statistic is asked of no samples or of a non-finite one. */
export class NoSamplesError extends Error {
  override readonly name = 'NoSamplesError';
}

function checked(samples: readonly number[], what: string): number[] {
  if (samples.length === 0) throw new NoSamplesError(`${what} of no samples`);
  for (const x of samples) {
    if (!Number.isFinite(x)) throw new NoSamplesError(`${what} of a non-finite sample (${x})`);
  }
  return [...samples].sort((a, b) => a - b);
}

/** The middle sample; the mean of the two middle samples when n is even. */
export function median(samples: readonly number[]): number {
  const sorted = checked(samples, 'median');
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Nearest-rank percentile: the smallest sample with at least p% of the
 * samples at or below it (p in (0, 100]; p = 0 gives the minimum). Always one
 * of the samples, never an interpolation, so "p99 latency" is a latency
 * that actually happened.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  const sorted = checked(samples, `p${p}`);
  if (p === 0) return sorted[0];
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** p50, p99 and max of latency samples in ms, and how many there were (P5 and its relay floor). */
export function latencyMetrics(latenciesMs: readonly number[]): { p50Ms: number; p99Ms: number; maxMs: number; samples: number } {
  return {
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
    maxMs: percentile(latenciesMs, 100),
    samples: latenciesMs.length,
  };
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = checked(samples, 'summary');
  return { median: median(sorted), min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length };
}

/**
 * Ratios computed run by run: numerator[i] / denominator[i] for every run
 * where both were measured (not undefined) and the denominator is not 0.
 * Summarising these (median of ratios) is not the same as the ratio of
 * medians; it cancels drift that hits both subjects within one run.
 */
export function ratiosByRun(
  numerator: ReadonlyArray<number | undefined>,
  denominator: ReadonlyArray<number | undefined>,
): number[] {
  if (numerator.length !== denominator.length) {
    throw new RangeError(`runs differ: ${numerator.length} numerators, ${denominator.length} denominators`);
  }
  const ratios: number[] = [];
  for (let i = 0; i < numerator.length; i++) {
    const a = numerator[i];
    const b = denominator[i];
    if (a === undefined || b === undefined || b === 0) continue;
    ratios.push(a / b);
  }
  return ratios;
}

/** Ops per second from a count and elapsed milliseconds. */
export function perSecond(count: number, elapsedMs: number): number {
  if (!(elapsedMs > 0)) throw new RangeError(`elapsed time must be positive, got ${elapsedMs}`);
  return (count * 1000) / elapsedMs;
}
