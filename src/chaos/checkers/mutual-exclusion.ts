import { RunHistory } from '../history/history-file';
import { CheckResult, Violation, groupBy, resultOf } from './check-result';
import { holdIntervals } from './hold-intervals';

export const MUTUAL_EXCLUSION = 'mutual-exclusion';

/**
 * DESIGN §8.1 from the holders' side: per resource, no two holders believed
 * they held the exclusive lock at the same instant. One linear scan over
 * the hold intervals sorted by start, remembering the one that reaches
 * furthest.
 */
export function checkMutualExclusion(h: RunHistory): CheckResult {
  const t0 = performance.now();
  const intervals = holdIntervals(h.ops, h.meta.durationMs);
  const violations: Violation[] = [];
  for (const [key, list] of groupBy(intervals, (i) => i.lock.key)) {
    list.sort((a, b) => a.startMs - b.startMs);
    let reach = list[0];
    for (let i = 1; i < list.length; i++) {
      const cur = list[i];
      if (cur.startMs < reach.endMs && cur.lock.process !== reach.lock.process) {
        violations.push({
          checker: MUTUAL_EXCLUSION,
          key,
          atMs: cur.startMs,
          ops: [cur.lock.id, reach.lock.id, ...(reach.unlock ? [reach.unlock.id] : [])],
          message: `${cur.lock.process} was granted ${key} at ${cur.startMs.toFixed(1)} ms while ${reach.lock.process} held it until ${reach.endMs.toFixed(1)} ms`,
        });
      }
      if (cur.endMs > reach.endMs) reach = cur;
    }
  }
  return resultOf(MUTUAL_EXCLUSION, violations, intervals.length, t0);
}
