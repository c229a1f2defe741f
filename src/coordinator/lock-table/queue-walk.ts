import type { Waiter } from './entries';
import { IntervalNode, findOverlap, insertNode, nextPriority } from './interval-tree';
import { isDirect, isExclusive } from './modes';
import type { ResourceState } from './resource-state';
import type { HolderRef } from './sessions';

/** A waiter that stays blocked during one walk, in the walk's own interval index. */
class Blocked implements IntervalNode<Blocked> {
  left: Blocked | null = null;
  right: Blocked | null = null;
  prio = nextPriority();
  maxEnd: number;
  readonly start: number;
  readonly end: number;
  readonly tie: number;
  readonly holder: HolderRef;

  constructor(w: Waiter) {
    this.start = w.start;
    this.end = w.end;
    this.maxEnd = w.end;
    this.tie = w.seq;
    this.holder = w.holder;
  }
}

/**
 * Grants what became grantable after something left a resource (DESIGN
 * §3.1). Walks the queue in order; a waiter is granted when it conflicts
 * with no granted entry and — unless it is a conversion — with no earlier
 * waiter that is still blocked. Blocked waiters go into an interval index
 * split by conflict class (modes.ts), so one walk is O(q log q) for q waiters.
 *
 * `grant` returns true when granting freed bytes (a conversion that also
 * shrank or downgraded its lock): earlier conversions may then be
 * grantable, so the walk starts over. It may also refuse (a conversion
 * that would close a wait-for cycle fails instead), which counts as the
 * waiter leaving the queue.
 */
export function walkQueue(state: ResourceState, grant: (w: Waiter) => boolean): void {
  let again = true;
  while (again && state.waiterCount > 0) {
    again = false;
    let blockedShared: Blocked | null = null;
    let blockedExclusive: Blocked | null = null;
    let blockedDirect: Blocked | null = null;
    for (let w = state.firstWaiter(); w !== null;) {
      const next = state.nextWaiter(w);
      const exclusive = isExclusive(w.mode);
      const direct = isDirect(w.mode);
      let blocked = state.conflictingGranted(w.mode, w.holder, w.start, w.end) !== undefined;
      if (!blocked && !w.conversion) {
        const holder = w.holder;
        const other = (n: Blocked) => n.holder !== holder;
        blocked = findOverlap(blockedExclusive, w.start, w.end, other) !== undefined
          || ((exclusive || direct) && findOverlap(blockedShared, w.start, w.end, other) !== undefined)
          || (!direct && findOverlap(blockedDirect, w.start, w.end, other) !== undefined);
      }
      if (blocked) {
        if (exclusive) blockedExclusive = insertNode(blockedExclusive, new Blocked(w));
        else if (direct) blockedDirect = insertNode(blockedDirect, new Blocked(w));
        else blockedShared = insertNode(blockedShared, new Blocked(w));
      } else if (grant(w)) {
        again = true;
      }
      w = next;
    }
  }
}
