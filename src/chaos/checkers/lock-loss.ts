import { RunHistory } from '../history/history-file';
import { CheckResult, Violation, groupBy, resultOf } from './check-result';
import { holdIntervals } from './hold-intervals';

export const LOCK_LOSS = 'lock-loss';

/**
 * No acknowledged lock is lost without its holder being told: if another
 * holder was granted the resource while the first still held it, the first
 * must have been told (fenced, evicted) — at any time, even later. A
 * holder that released normally, never told, while someone else had been
 * granted its lock in the meantime, lost it silently (a failover that did
 * not reclaim it, a lease that expired without the client noticing).
 */
export function checkLockLoss(h: RunHistory): CheckResult {
  const t0 = performance.now();
  const intervals = holdIntervals(h.ops, h.meta.durationMs);
  const violations: Violation[] = [];
  for (const [key, list] of groupBy(intervals, (i) => i.lock.key)) {
    const grants = list.map((i) => i.startMs).sort((a, b) => a - b);
    for (const i of list) {
      if (i.told) continue;
      const releasedMs = i.unlock ? i.unlock.invokeMs : h.meta.durationMs;
      const other = firstAfter(grants, i.startMs);
      if (other === undefined || other >= releasedMs) continue;
      const thief = list.find((j) => j.startMs === other && j !== i)!;
      violations.push({
        checker: LOCK_LOSS,
        key,
        atMs: other,
        ops: [i.lock.id, thief.lock.id, ...(i.unlock ? [i.unlock.id] : [])],
        message: `${i.lock.process} held ${key} from ${i.startMs.toFixed(1)} ms to ${releasedMs.toFixed(1)} ms and was never told, but ${thief.lock.process} was granted it at ${other.toFixed(1)} ms`,
      });
    }
  }
  return resultOf(LOCK_LOSS, violations, intervals.length, t0);
}

/** The smallest value in sorted `xs` strictly greater than x. */
function firstAfter(xs: number[], x: number): number | undefined {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return xs[lo];
}
