import { LeaseRecord } from '../history/operation';

/**
 * The agent's clock may run at a slightly skewed rate (clock-skew fault,
 * within DESIGN §5's drift margin): a deadline it states as "remainingMs
 * from now" is stretched by this much before the harness judges it.
 */
export const RATE_TOLERANCE = 0.02;

/** When one host held a lease, by its own account: [startMs, endMs) spans, sorted. */
export interface LeaseSpan {
  startMs: number;
  endMs: number;
}

/**
 * Per host, the spans during which it held a lease: each record holds
 * from its atMs until its deadline or the next record (an extension, a
 * fencing, a new session), whichever comes first.
 */
export function leaseSpans(records: readonly LeaseRecord[]): Map<string, { firstAtMs: number; spans: LeaseSpan[] }> {
  const byHost = new Map<string, LeaseRecord[]>();
  for (const r of records) {
    const list = byHost.get(r.host) ?? [];
    list.push(r);
    byHost.set(r.host, list);
  }
  const out = new Map<string, { firstAtMs: number; spans: LeaseSpan[] }>();
  for (const [host, list] of byHost) {
    list.sort((a, b) => a.atMs - b.atMs);
    const spans: LeaseSpan[] = [];
    list.forEach((r, k) => {
      if (r.deadlineMs === null) return;
      const deadline = r.atMs + (r.deadlineMs - r.atMs) * (1 + RATE_TOLERANCE);
      const endMs = Math.min(deadline, list[k + 1]?.atMs ?? Infinity);
      if (endMs > r.atMs) spans.push({ startMs: r.atMs, endMs });
    });
    out.set(host, { firstAtMs: list[0].atMs, spans });
  }
  return out;
}

/** Whether [fromMs, toMs] meets any span of one host (as leaseSpans returns them). */
export function overlapsAny(spans: readonly LeaseSpan[], fromMs: number, toMs: number): boolean {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (spans[mid].startMs <= toMs) lo = mid + 1;
    else hi = mid;
  }
  // Spans of one host are disjoint and sorted (each ends by the next record), so ends increase too:
  // the last span starting by toMs is the only one that can still be open at fromMs.
  return lo > 0 && spans[lo - 1].endMs > fromMs;
}
