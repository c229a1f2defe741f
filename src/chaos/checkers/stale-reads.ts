import { RunHistory } from '../history/history-file';
import { Operation } from '../history/operation';
import { CheckResult, Violation, groupBy, resultOf } from './check-result';

export const STALE_READS = 'stale-reads';

/**
 * DESIGN §8.3 on the registers, the cheap direct form: a read returns the
 * value of a write that was not already overwritten before the read began
 * (by a write invoked after the read value's write completed and completed
 * before the read started), and never a value nobody wrote, a failed
 * write's value, or a value written only after the read returned.
 * Linearizability implies this; this checker names the two writes.
 */
export function checkStaleReads(h: RunHistory): CheckResult {
  const t0 = performance.now();
  const violations: Violation[] = [];
  let checked = 0;
  const regOps = h.ops.filter((o) => o.type === 'read' || o.type === 'write');
  for (const [key, list] of groupBy(regOps, (o) => o.key)) {
    const writes = list.filter((o) => o.type === 'write');
    const byValue = new Map<string, Operation>(writes.map((w) => [String(w.value), w]));
    const done = writes.filter((w) => w.result === 'ok').sort((a, b) => a.completeMs! - b.completeMs!);
    // prefixMaxInvoke[i]: the latest-invoked of done[0..i] (a write surely before anything invoked after done[i] completed).
    const prefix: Operation[] = [];
    for (const w of done) prefix.push(prefix.length && prefix[prefix.length - 1].invokeMs > w.invokeMs ? prefix[prefix.length - 1] : w);
    for (const r of list) {
      if (r.type !== 'read' || r.result !== 'ok') continue;
      checked++;
      const v = r.value === null || r.value === undefined ? null : String(r.value);
      const source = v === null ? undefined : byValue.get(v);
      const flag = (message: string, ops: number[]) => violations.push({ checker: STALE_READS, key, atMs: r.invokeMs, ops: [r.id, ...ops], message });
      if (v !== null && !source) { flag(`${r.process} read ${JSON.stringify(v)} from ${key}, a value nobody wrote`, []); continue; }
      if (source?.result === 'fail') { flag(`${r.process} read ${JSON.stringify(v)} from ${key}, written by a write that failed`, [source.id]); continue; }
      if (source && source.invokeMs > r.completeMs!) { flag(`${r.process} read ${JSON.stringify(v)} from ${key} before it was written`, [source.id]); continue; }
      const sourceDone = source ? (source.completeMs ?? Infinity) : -Infinity;
      const i = lastBefore(done, r.invokeMs);
      if (i < 0) continue;
      const newer = prefix[i];
      if (newer.invokeMs > sourceDone) {
        flag(`${r.process} read ${v === null ? 'the initial value' : JSON.stringify(v)} from ${key} at ${r.invokeMs.toFixed(1)} ms, but ${newer.process}'s write ${JSON.stringify(newer.value)} had replaced it by ${newer.completeMs!.toFixed(1)} ms`, [newer.id, ...(source ? [source.id] : [])]);
      }
    }
  }
  return resultOf(STALE_READS, violations, checked, t0);
}

/** Index of the last op in `done` (sorted by completion) that completed before t, or -1. */
function lastBefore(done: Operation[], t: number): number {
  let lo = 0;
  let hi = done.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (done[mid].completeMs! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
