import { overlaps } from '../common/byte-range';
import { compareFencingTokens } from '../common/wire';
import { HeldInterval } from './history';

export interface Violation {
  kind: 'overlap' | 'fencing';
  a: HeldInterval;
  b: HeldInterval;
}

function conflicting(a: HeldInterval, b: HeldInterval): boolean {
  if (a.client === b.client || a.resource !== b.resource || !overlaps(a.range, b.range)) return false;
  const shared = (m: string) => m === 'READ' || m === 'SHARED';
  return !(shared(a.mode) && shared(b.mode));
}

/**
 * DESIGN §8 invariants 1 and 2 over the clients' own logs: no two
 * conflicting grants were held at once, and of two conflicting grants the
 * later one has the larger fencing token.
 */
export function checkHistory(intervals: readonly HeldInterval[]): Violation[] {
  const violations: Violation[] = [];
  const byResource = new Map<string, HeldInterval[]>();
  for (const h of intervals) {
    const list = byResource.get(h.resource);
    if (list) list.push(h);
    else byResource.set(h.resource, [h]);
  }
  for (const list of byResource.values()) {
    list.sort((x, y) => x.grantedAtMs - y.grantedAtMs);
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length; j++) {
        const a = list[i];
        const b = list[j];
        if (!conflicting(a, b)) continue;
        if (b.grantedAtMs < a.releasedAtMs) violations.push({ kind: 'overlap', a, b });
        if (compareFencingTokens(b.fencingToken, a.fencingToken) <= 0) violations.push({ kind: 'fencing', a, b });
      }
    }
  }
  return violations;
}
