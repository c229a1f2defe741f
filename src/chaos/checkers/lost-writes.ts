import { RunHistory } from '../history/history-file';
import { Operation } from '../history/operation';
import { CheckResult, Violation, groupBy, resultOf } from './check-result';

export const LOST_WRITES = 'lost-writes';

/**
 * DESIGN §8.4: what fsync acknowledged survives. Every append whose fsync
 * returned ok must be in the file read from the backing store after the
 * run (final-read), exactly once; a line nobody appended (torn, mixed,
 * or from a failed append) is corruption.
 */
export function checkLostWrites(h: RunHistory): CheckResult {
  const t0 = performance.now();
  const violations: Violation[] = [];
  const appends = groupBy(h.ops.filter((o) => o.type === 'append'), (o) => o.key);
  const finals = new Map(h.ops.filter((o) => o.type === 'final-read' && o.result === 'ok').map((o) => [o.key, o]));
  let checked = 0;
  for (const [key, list] of appends) {
    const final = finals.get(key);
    if (!final) {
      violations.push({ checker: LOST_WRITES, key, atMs: h.meta.durationMs, ops: [list[0].id], message: `no final read of ${key}: its acknowledged appends cannot be confirmed` });
      continue;
    }
    const lines = Array.isArray(final.value) ? final.value : [];
    const count = new Map<string, number>();
    for (const l of lines) count.set(l, (count.get(l) ?? 0) + 1);
    const byValue = new Map<string, Operation>(list.map((o) => [String(o.value), o]));
    for (const o of list) {
      if (o.result !== 'ok') continue;
      checked++;
      const n = count.get(String(o.value)) ?? 0;
      if (n !== 1) {
        violations.push({
          checker: LOST_WRITES,
          key,
          atMs: o.completeMs ?? o.invokeMs,
          ops: [o.id, final.id],
          message: n === 0 ? `${o.process}'s acknowledged append ${JSON.stringify(o.value)} to ${key} is not in the file after the run` : `${o.process}'s append ${JSON.stringify(o.value)} is in ${key} ${n} times`,
        });
      }
    }
    for (const l of count.keys()) {
      const o = byValue.get(l);
      if (o && o.result !== 'fail') continue;
      violations.push({
        checker: LOST_WRITES,
        key,
        atMs: h.meta.durationMs,
        ops: [final.id, ...(o ? [o.id] : [])],
        message: o ? `${key} holds ${JSON.stringify(l)} from an append that failed` : `${key} holds a line nobody appended: ${JSON.stringify(l.slice(0, 80))}`,
      });
    }
  }
  return resultOf(LOST_WRITES, violations, checked, t0);
}
