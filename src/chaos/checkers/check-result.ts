/** A broken invariant, with the operations that show it. */
export interface Violation {
  checker: string;
  message: string;
  /** Ids of the operations involved, the most telling first. */
  ops: number[];
  /** Where on the timeline to mark it (ms from the start of the run). */
  atMs: number;
  key?: string;
}

/** 'unknown': the checker ran out of its time budget before it could decide. */
export type Verdict = 'pass' | 'fail' | 'unknown';

export interface CheckResult {
  checker: string;
  verdict: Verdict;
  violations: Violation[];
  /** How many operations the checker looked at. */
  checkedOps: number;
  elapsedMs: number;
  note?: string;
}

/** Builds a result from the violations found: fail if any, else pass. */
export function resultOf(checker: string, violations: Violation[], checkedOps: number, startedMs: number, note?: string): CheckResult {
  return { checker, verdict: violations.length > 0 ? 'fail' : 'pass', violations, checkedOps, elapsedMs: performance.now() - startedMs, note };
}

/** Groups items by a key, keeping their order. */
export function groupBy<T>(items: Iterable<T>, key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = m.get(k);
    if (list) list.push(t);
    else m.set(k, [t]);
  }
  return m;
}
