import { Entry, Waiter, queuedBefore } from './entries';
import { findOverlap, forEachOverlap } from './interval-tree';
import { isExclusive } from './modes';
import type { HolderRef } from './sessions';

/**
 * The wait-for graph of range locks (DESIGN §2), computed on demand.
 * Nodes are holders; a waiting request of holder A has an edge to every
 * holder B ≠ A with
 *   - a granted entry that conflicts with it, or
 *   - (ordinary requests only) a conflicting waiter queued before it.
 * Conversions ignore waiters, so they only wait for granted entries.
 *
 * The table keeps the graph acyclic: every change that can add edges
 * (queueing a request, granting a conversion, reclaiming) is tried and
 * undone if the changed holder can now reach itself. Because the graph was
 * acyclic before and all new edges touch that holder, this finds exactly
 * the new cycles. A holder nobody waits for cannot be on a cycle; checking
 * that first keeps a new waiter at the tail of a long queue at O(q) rather
 * than a search through every waiter's blockers, O(q²).
 */

/** Calls fn with every holder that waiter w waits for (possibly repeatedly). */
export function forEachBlockingHolder(w: Waiter, fn: (h: HolderRef) => void): void {
  const state = w.state;
  const h = w.holder;
  const granted = (n: { holder: HolderRef }) => { if (n.holder !== h) fn(n.holder); };
  const exclusive = isExclusive(w.mode);
  forEachOverlap(state.exclusiveGranted, w.start, w.end, granted);
  if (exclusive) forEachOverlap(state.sharedGranted, w.start, w.end, granted);
  if (w.conversion) return;
  const earlier = (v: Waiter) => { if (v.holder !== h && queuedBefore(v, w)) fn(v.holder); };
  forEachOverlap(state.exclusiveWaiting, w.start, w.end, earlier);
  if (exclusive) forEachOverlap(state.sharedWaiting, w.start, w.end, earlier);
}

/** True when some waiter waits for `holder` (it has an in-edge). */
function isWaitedFor(holder: HolderRef, unregistered: Entry | undefined): boolean {
  const waitedOn = (e: Entry) => e.state.conflictingWaiter(e.mode, holder, e.start, e.end) !== undefined;
  if (unregistered !== undefined && waitedOn(unregistered)) return true;
  if (holder.rangeGrants !== null) {
    for (const e of holder.rangeGrants) if (waitedOn(e)) return true;
  }
  if (holder.rangeWaiters === null) return false;
  for (const [state, own] of holder.rangeWaitersByState) {
    // Only another holder's waiter can wait for this one: a resource where this holder is the only one waiting
    // (one session queueing thousands of requests behind a lock) costs O(1), not a scan of its queue per waiter.
    if (state.waiterCount === own.size) continue;
    for (const w of own) {
      if (state.isLastWaiter(w)) continue;
      const behind = (v: Waiter) => v.holder !== holder && !v.conversion && queuedBefore(w, v);
      if (findOverlap(state.exclusiveWaiting, w.start, w.end, behind) !== undefined) return true;
      if (isExclusive(w.mode) && findOverlap(state.sharedWaiting, w.start, w.end, behind) !== undefined) return true;
    }
  }
  return false;
}

/**
 * True when `holder` reaches itself in the wait-for graph. O(edges reachable
 * from it). `unregistered`: a granted entry of the holder already in its
 * resource's tree but not yet in holder.rangeGrants (a grant being tried).
 */
export function reachesItself(holder: HolderRef, unregistered?: Entry): boolean {
  if (holder.rangeWaiters === null || !isWaitedFor(holder, unregistered)) return false;
  const seen = new Set<HolderRef>([holder]);
  const stack: HolderRef[] = [holder];
  let found = false;
  const visit = (h: HolderRef) => {
    if (h === holder) found = true;
    else if (!seen.has(h)) {
      seen.add(h);
      stack.push(h);
    }
  };
  while (stack.length > 0 && !found) {
    const h = stack.pop() as HolderRef;
    if (h.rangeWaiters === null) continue;
    for (const w of h.rangeWaiters) {
      forEachBlockingHolder(w, visit);
      if (found) break;
    }
  }
  return found;
}
