import { CheckResult } from '../checkers/check-result';
import { allPassed } from '../checkers/run-checkers';
import { RunHistory } from '../history/history-file';
import { LoggedError } from '../history/operation';

/** summary.json: what a person or CI wants first. */
export interface RunSummary {
  seed: number;
  startedAt: string;
  durationMs: number;
  passed: boolean;
  faults: { total: number; byKind: Record<string, number> };
  /** errors: what the failed and ambiguous operations returned (EIO, TIMEOUT, ENOENT…), by type. */
  operations: { total: number; byType: Record<string, Record<string, number>>; errors: Record<string, number> };
  checkers: Array<{ checker: string; verdict: string; violations: number; checkedOps: number; elapsedMs: number; note?: string }>;
  options: Record<string, unknown>;
  /** Error-level lines the agents logged: not a checker verdict, but worth a look. */
  loggedErrors: LoggedError[];
}

export function summarize(h: RunHistory, results: readonly CheckResult[]): RunSummary {
  const byKind: Record<string, number> = {};
  for (const f of h.faults) byKind[f.fault] = (byKind[f.fault] ?? 0) + 1;
  const byType: Record<string, Record<string, number>> = {};
  const errors: Record<string, number> = {};
  for (const o of h.ops) {
    const t = (byType[o.type] ??= {});
    t[o.result] = (t[o.result] ?? 0) + 1;
    if (o.error) errors[`${o.type} ${o.error}`] = (errors[`${o.type} ${o.error}`] ?? 0) + 1;
  }
  return {
    seed: h.meta.seed,
    startedAt: h.meta.startedAt,
    durationMs: Math.round(h.meta.durationMs),
    passed: allPassed(results),
    faults: { total: h.faults.length, byKind },
    operations: { total: h.ops.length, byType, errors },
    checkers: results.map((r) => ({ checker: r.checker, verdict: r.verdict, violations: r.violations.length, checkedOps: r.checkedOps, elapsedMs: Math.round(r.elapsedMs), note: r.note })),
    options: h.meta.options,
    loggedErrors: h.meta.loggedErrors ?? [],
  };
}
