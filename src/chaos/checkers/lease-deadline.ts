import { RunHistory } from '../history/history-file';
import { Operation } from '../history/operation';
import { leaseSpans, overlapsAny } from './agent-lease-intervals';
import { CheckResult, Violation, resultOf } from './check-result';

export const LEASE_DEADLINE = 'lease-deadline';

/**
 * DESIGN §5/§8.5: a writer never issues a write after its own lease
 * deadline (send time of its last acknowledged heartbeat + TTL − margin):
 * every write that may have taken effect was invoked before the deadline
 * it carried. And an agent's acknowledged writes (register writes and
 * appends, fsync returned) reached the store at some moment between invoke
 * and completion: the agent must have held its lease at some moment of that
 * span, by the deadlines it logged (history 'lease' lines). Writes that
 * ended before the host's first lease line are not judged.
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
  checked += checkAgentWrites(h, violations);
  return resultOf(LEASE_DEADLINE, violations, checked, t0);
}

const AGENT_WRITES = new Set<Operation['type']>(['write', 'append']);

function checkAgentWrites(h: RunHistory, violations: Violation[]): number {
  if (!h.leases?.length) return 0;
  const byHost = leaseSpans(h.leases);
  let checked = 0;
  for (const o of h.ops) {
    if (!AGENT_WRITES.has(o.type) || o.result !== 'ok' || o.completeMs === null) continue;
    const host = byHost.get(o.host);
    if (!host || o.completeMs < host.firstAtMs) continue;
    checked++;
    if (overlapsAny(host.spans, o.invokeMs, o.completeMs)) continue;
    violations.push({
      checker: LEASE_DEADLINE,
      key: o.key,
      atMs: o.invokeMs,
      ops: [o.id],
      message: `${o.host} acknowledged ${o.process}'s ${o.type} on ${o.key} (${o.invokeMs.toFixed(1)}–${o.completeMs.toFixed(1)} ms) while it held no lease: its deadline had passed or it was fenced`,
    });
  }
  return checked;
}
