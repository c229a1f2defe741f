import { RunHistory } from '../history/history-file';
import { CheckResult, Violation, resultOf } from './check-result';

export const LEASE_DEADLINE = 'lease-deadline';

/**
 * DESIGN §5/§8.5: a writer never issues a write after its own lease
 * deadline (send time of its last acknowledged heartbeat + TTL − margin):
 * every write that may have taken effect was invoked before the deadline
 * it carried.
 */
export function checkLeaseDeadline(h: RunHistory): CheckResult {
  const t0 = performance.now();
  const violations: Violation[] = [];
  let checked = 0;
  for (const o of h.ops) {
    if (o.leaseDeadlineMs === undefined || o.result === 'fail') continue;
    checked++;
    if (o.invokeMs > o.leaseDeadlineMs) {
      violations.push({
        checker: LEASE_DEADLINE,
        key: o.key,
        atMs: o.invokeMs,
        ops: [o.id],
        message: `${o.process} issued ${o.type} on ${o.key} at ${o.invokeMs.toFixed(1)} ms, ${(o.invokeMs - o.leaseDeadlineMs).toFixed(1)} ms after its lease deadline`,
      });
    }
  }
  return resultOf(LEASE_DEADLINE, violations, checked, t0);
}
