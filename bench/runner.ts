import { BenchAbortedError, nowMs, PartialMeasurementError, withTimeout } from './timing';
import type { BenchCase, BenchContext, CaseResult, Metrics, RunOutcome } from './types';

/** One-line rendering of a measurement for the progress log. */
function brief(metrics: Metrics): string {
  return Object.entries(metrics)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toPrecision(4)}`)
    .join(' ');
}

/** Subjects in the order used in run `run` (0-based): rotated so no subject always goes first. */
export function rotate<T>(items: readonly T[], run: number): T[] {
  if (items.length === 0) return [];
  const k = run % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * Runs every case `runs` times; within a run every subject of a case is
 * measured once, back to back, so run-by-run ratios compare measurements
 * taken under the same conditions. A failing subject is recorded and the
 * benchmark goes on; an interrupt stops it (BenchAbortedError).
 */
export async function runCases(ctx: BenchContext, cases: BenchCase[], runs: number): Promise<CaseResult[]> {
  const results: CaseResult[] = cases.map((c) => ({
    id: c.id,
    title: c.title,
    subjects: c.subjects.map((s) => ({ name: s.name, role: s.role })),
    runs: [],
  }));
  for (let run = 0; run < runs; run++) {
    for (const [i, benchCase] of cases.entries()) {
      const outcomes: Record<string, RunOutcome> = {};
      results[i].runs.push(outcomes);
      for (const subject of rotate(benchCase.subjects, run)) {
        if (ctx.signal.aborted) throw new BenchAbortedError();
        ctx.progress(`run ${run + 1}/${runs} ${benchCase.id} ${subject.name} …`);
        const start = nowMs();
        try {
          // A hung measurement is abandoned (its teardown stays registered and runs at the end).
          const metrics = await withTimeout(subject.measure(ctx), ctx.profile.measurementTimeoutMs, `${benchCase.id} ${subject.name}`, ctx.signal);
          outcomes[subject.name] = { metrics };
          ctx.progress(`run ${run + 1}/${runs} ${benchCase.id} ${subject.name}: ${brief(metrics)} (${((nowMs() - start) / 1000).toFixed(1)} s)`);
        } catch (e) {
          if (e instanceof BenchAbortedError || ctx.signal.aborted) throw new BenchAbortedError();
          const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
          outcomes[subject.name] = e instanceof PartialMeasurementError && Object.keys(e.metrics).length > 0 ? { metrics: e.metrics, error: message } : { error: message };
          ctx.progress(`run ${run + 1}/${runs} ${benchCase.id} ${subject.name} FAILED: ${message}`);
          ctx.logger.error('measurement failed', { caseId: benchCase.id, subject: subject.name, run: run + 1, stack: (e as Error)?.stack });
        }
      }
    }
  }
  return results;
}
