import { RunHistory } from '../history/history-file';
import { CheckResult } from './check-result';
import { checkFencingOrder } from './fencing-order';
import { checkLeaseDeadline } from './lease-deadline';
import { checkLockLoss } from './lock-loss';
import { checkLostWrites } from './lost-writes';
import { checkMutualExclusion } from './mutual-exclusion';
import { checkNamespace } from './namespace-linearizability';
import { checkLinearizability } from './register-linearizability';
import { checkStaleReads } from './stale-reads';

export interface CheckOptions {
  /** Time budget of each linearizability search (registers, names), ms. */
  linearizabilityBudgetMs?: number;
}

/** Every checker over one history, in a fixed order. */
export function runCheckers(h: RunHistory, o: CheckOptions = {}): CheckResult[] {
  return [
    checkMutualExclusion(h),
    checkLockLoss(h),
    checkFencingOrder(h),
    checkLeaseDeadline(h),
    checkLinearizability(h, o.linearizabilityBudgetMs),
    checkStaleReads(h),
    checkLostWrites(h),
    checkNamespace(h, o.linearizabilityBudgetMs),
  ];
}

/** true only when every checker passed ("unknown" is not a pass). */
export function allPassed(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.verdict === 'pass');
}
