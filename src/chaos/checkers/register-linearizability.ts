import { RunHistory } from '../history/history-file';
import { Operation } from '../history/operation';
import { CheckResult, Violation, groupBy } from './check-result';
import { SearchOp, wglSearch } from './wgl-search';

export const LINEARIZABILITY = 'linearizability';

/** Default time budget of the whole check (every file), in ms. */
export const DEFAULT_BUDGET_MS = 10_000;

type RegisterState = string | null;

/**
 * Per-file registers (DESIGN §8.3): reads and writes of a versioned record
 * through different mounts must be linearizable. The history is split per
 * file (a register's operations are independent of another's) and each
 * part searched with WGL. Writes of unknown outcome are pending forever;
 * failed writes and reads without a value are left out. The budget holds
 * for the whole check: a part still undecided at the deadline makes the
 * verdict "unknown", never "pass".
 */
export function checkLinearizability(h: RunHistory, budgetMs = DEFAULT_BUDGET_MS): CheckResult {
  const t0 = performance.now();
  const deadline = t0 + budgetMs;
  const violations: Violation[] = [];
  const undecided: string[] = [];
  const relevant = h.ops.filter((o) => (o.type === 'write' && o.result !== 'fail') || (o.type === 'read' && o.result === 'ok'));
  for (const [key, all] of groupBy(relevant, (o) => o.key)) {
    const { list, returnMs } = settleAmbiguousWrites(all);
    const search: SearchOp<RegisterState>[] = list.map((o) => toSearchOp(o, returnMs.get(o.id)));
    const out = wglSearch(search, null, (s) => (s === null ? '\u0000' : s), deadline);
    if (out.kind === 'timeout') undecided.push(key);
    else if (out.kind === 'illegal') {
      const stuck = list[out.stuckOp];
      const tail = out.prefix.slice(-3).map((i) => list[i]);
      violations.push({
        checker: LINEARIZABILITY,
        key,
        atMs: stuck ? stuck.invokeMs : 0,
        ops: [...(stuck ? [stuck.id] : []), ...tail.map((o) => o.id).reverse()],
        message: `${key} is not linearizable: no order of its operations explains ${stuck ? `${stuck.process}'s ${stuck.type} of ${JSON.stringify(stuck.value)} at ${stuck.invokeMs.toFixed(1)} ms` : 'the history'} (longest explained prefix: ${out.prefix.length} of ${list.length} ops)`,
      });
    }
  }
  const verdict = violations.length > 0 ? 'fail' : undecided.length > 0 ? 'unknown' : 'pass';
  const note = undecided.length > 0 ? `time budget of ${budgetMs} ms ran out before deciding ${undecided.join(', ')}` : undefined;
  return { checker: LINEARIZABILITY, verdict, violations, checkedOps: relevant.length, elapsedMs: performance.now() - t0, note };
}

/**
 * Ambiguous writes are what makes the search explode, and values are
 * unique, so most of them can be settled first (both steps are exact for
 * a register): a write of unknown outcome whose value nobody read can be
 * dropped (had it happened, no read could have been between it and the
 * next write, so leaving it out changes no read); one whose value was read
 * did happen, before the first of those reads returned: it gets that
 * return time instead of +Infinity.
 */
function settleAmbiguousWrites(ops: Operation[]): { list: Operation[]; returnMs: Map<number, number> } {
  const firstReadReturn = new Map<string, number>();
  for (const o of ops) {
    if (o.type !== 'read' || o.value === null || o.value === undefined) continue;
    const v = String(o.value);
    firstReadReturn.set(v, Math.min(firstReadReturn.get(v) ?? Infinity, o.completeMs!));
  }
  const returnMs = new Map<number, number>();
  const list = ops.filter((o) => {
    if (o.type !== 'write' || (o.result !== 'info' && o.completeMs !== null)) return true;
    const readBy = firstReadReturn.get(String(o.value));
    if (readBy === undefined) return false;
    returnMs.set(o.id, Math.max(readBy, o.invokeMs));
    return true;
  });
  return { list, returnMs };
}

function toSearchOp(o: Operation, settledReturnMs?: number): SearchOp<RegisterState> {
  const returnMs = settledReturnMs ?? (o.result === 'info' || o.completeMs === null ? Infinity : o.completeMs);
  if (o.type === 'write') {
    const v = String(o.value);
    return { callMs: o.invokeMs, returnMs, step: () => v };
  }
  const v = o.value === null || o.value === undefined ? null : String(o.value);
  return { callMs: o.invokeMs, returnMs, step: (s) => (s === v ? s : undefined) };
}
