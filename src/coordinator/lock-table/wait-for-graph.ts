import { Waiter, queuedBefore } from './entries';
import { forEachOverlap } from './interval-tree';
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
 * the new cycles.
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

/** True when `holder` reaches itself in the wait-for graph. O(edges reachable from it). */
export function reachesItself(holder: HolderRef): boolean {
  if (holder.rangeWaiters === null) return false;
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
