import { ratiosByRun, summarize } from './stats';
import type { Target } from './targets';
import type { CaseResult, Comparison, Summary } from './types';

/** The subject playing coherd in a case. */
export const COHERD = 'coherd';
/** P3's second coherd subject: releases ride on the next acquire. */
export const COHERD_PIPELINED = 'coherd-pipelined';
/** P6's and P9's coherd agent with --kernel-page-cache no (every open direct_io); 'coherd' is the default agent. */
export const COHERD_DIRECT_IO = 'coherd-direct-io';

/** metric of `subject` in each run (undefined where it failed or was not measured). */
export function metricByRun(result: CaseResult, subject: string, metric: string): Array<number | undefined> {
  return result.runs.map((run) => {
    const outcome = run[subject];
    if (!outcome || !('metrics' in outcome)) return undefined;
    const value = outcome.metrics[metric];
    return Number.isFinite(value) ? value : undefined;
  });
}

function summaryOf(values: Array<number | undefined>): Summary | null {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length ? summarize(present) : null;
}

function holds(value: number, op: Target['op'], limit: number): boolean {
  return op === '<=' ? value <= limit : value >= limit;
}

/**
 * Evaluates one target against a case's runs. `met` uses medians: the
 * median of the per-run ratios for a ratio target, the median of coherd's
 * figure for an absolute one (against the median of the limit metric when
 * the limit is itself measured). null when coherd was not measured.
 */
export function compare(target: Target, result: CaseResult | undefined): Comparison {
  const subject = target.subject ?? COHERD;
  const base: Comparison = {
    caseId: target.caseId,
    subject,
    metric: target.metric,
    target: target.text,
    baseline: target.baseline ?? null,
    coherd: null,
    baselineSummary: null,
    ratio: null,
    met: null,
  };
  if (!result) return base;
  const coherdValues = metricByRun(result, subject, target.metric);
  const baselineValues = target.baseline ? metricByRun(result, target.baseline, target.metric) : undefined;
  base.coherd = summaryOf(coherdValues);
  base.baselineSummary = baselineValues ? summaryOf(baselineValues) : null;
  if (baselineValues) base.ratio = summaryOf(ratiosByRun(coherdValues, baselineValues));

  if (target.kind === 'ratio') {
    base.met = base.ratio ? holds(base.ratio.median, target.op, target.limit as number) : null;
  } else if (base.coherd) {
    const limit = typeof target.limit === 'number' ? target.limit : summaryOf(metricByRun(result, subject, target.limit.metric))?.median;
    base.met = limit === undefined ? null : holds(base.coherd.median, target.op, limit);
  }
  return base;
}

export function compareAll(targets: readonly Target[], results: CaseResult[]): Comparison[] {
  const byId = new Map(results.map((r) => [r.id, r]));
  return targets.filter((t) => byId.has(t.caseId)).map((t) => compare(t, byId.get(t.caseId)));
}
