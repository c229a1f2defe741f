import { RunHistory } from '../history/history-file';
import { Operation, compareTokens, formatToken } from '../history/operation';
import { CheckResult, Violation, groupBy, resultOf } from './check-result';

export const FENCING_ORDER = 'fencing-order';

/**
 * DESIGN §3.6 / §8.2: of two grants of one resource where the first
 * completed before the second was even asked for, the second carries the
 * strictly larger fencing token — across failovers too. A sweep over the
 * grants sorted by completion, keeping the largest token seen so far.
 * Also: the fencing store must never accept a token smaller than one it
 * accepted earlier.
 */
export function checkFencingOrder(h: RunHistory): CheckResult {
  const t0 = performance.now();
  const violations: Violation[] = [];
  const locks = h.ops.filter((o) => o.type === 'lock' && o.result === 'ok' && o.fencingToken && o.completeMs !== null);
  for (const [key, list] of groupBy(locks, (o) => o.key)) {
    const byComplete = [...list].sort((a, b) => a.completeMs! - b.completeMs!);
    const byInvoke = [...list].sort((a, b) => a.invokeMs - b.invokeMs);
    let best: Operation | undefined;
    let j = 0;
    for (const b of byInvoke) {
      while (j < byComplete.length && byComplete[j].completeMs! < b.invokeMs) {
        const a = byComplete[j++];
        if (!best || compareTokens(a.fencingToken!, best.fencingToken!) > 0) best = a;
      }
      if (best && compareTokens(b.fencingToken!, best.fencingToken!) <= 0) {
        violations.push({
          checker: FENCING_ORDER,
          key,
          atMs: b.completeMs!,
          ops: [b.id, best.id],
          message: `${b.process} was granted ${key} with token ${formatToken(b.fencingToken)}, not above ${formatToken(best.fencingToken)} of an earlier grant to ${best.process}`,
        });
      }
    }
  }
  const stores = h.ops.filter((o) => o.type === 'store-write' && o.accepted && o.fencingToken && o.appliedMs !== undefined);
  for (const [key, list] of groupBy(stores, (o) => o.key)) {
    list.sort((a, b) => a.appliedMs! - b.appliedMs!);
    let best: Operation | undefined;
    for (const w of list) {
      if (best && compareTokens(w.fencingToken!, best.fencingToken!) < 0) {
        violations.push({
          checker: FENCING_ORDER,
          key,
          atMs: w.appliedMs!,
          ops: [w.id, best.id],
          message: `the store accepted token ${formatToken(w.fencingToken)} for ${key} after it had accepted ${formatToken(best.fencingToken)}`,
        });
      }
      if (!best || compareTokens(w.fencingToken!, best.fencingToken!) > 0) best = w;
    }
  }
  return resultOf(FENCING_ORDER, violations, locks.length + stores.length, t0);
}
