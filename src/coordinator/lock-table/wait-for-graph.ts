import { ResourceExhaustedError } from '../../common/errors';
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
 *
 * Colluding holders can still make one check large (five sessions with
 * 1,000 waiters each on one lock cost 212 ms per request when each check
 * was exact and unbounded), so a check spends at most WAIT_GRAPH_BUDGET
 * steps (tree nodes looked at): past it the request is refused with
 * WAIT_GRAPH_TOO_LARGE (RESOURCE_EXHAUSTED) — never granted unchecked,
 * since an unseen cycle would hang its holders for good.
 */

/** Steps one deadlock check may take (about 1–2 ms of CPU). */
export const WAIT_GRAPH_BUDGET = 20_000;

/** Counts the steps of one check; throws WAIT_GRAPH_TOO_LARGE past the budget. */
class Budget {
  constructor(private left: number) {}

  spend(): void {
    if (--this.left < 0) {
      throw new ResourceExhaustedError('WAIT_GRAPH_TOO_LARGE', 'the wait-for graph behind this request is too large to check for deadlocks; release or cancel some waiting requests', { budget: WAIT_GRAPH_BUDGET });
    }
  }
}

/** Calls fn with every holder that waiter w waits for (possibly repeatedly). */
export function forEachBlockingHolder(w: Waiter, fn: (h: HolderRef) => void, budget?: Budget): void {
  const state = w.state;
  const h = w.holder;
  const granted = (n: { holder: HolderRef }) => { budget?.spend(); if (n.holder !== h) fn(n.holder); };
  const exclusive = isExclusive(w.mode);
  forEachOverlap(state.exclusiveGranted, w.start, w.end, granted);
  if (exclusive) forEachOverlap(state.sharedGranted, w.start, w.end, granted);
  if (w.conversion) return;
  const earlier = (v: Waiter) => { budget?.spend(); if (v.holder !== h && queuedBefore(v, w)) fn(v.holder); };
  forEachOverlap(state.exclusiveWaiting, w.start, w.end, earlier);
  if (exclusive) forEachOverlap(state.sharedWaiting, w.start, w.end, earlier);
}

/** True when some waiter waits for `holder` (it has an in-edge). */
function isWaitedFor(holder: HolderRef, unregistered: Entry | undefined, budget: Budget): boolean {
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
    // Only an ordinary waiter of another holder queued after one of ours can wait for it. Holders that queue
    // one after another (all of B's requests behind all of A's) then cost a walk over the tail, not a search
    // per waiter of ours.
    const latest = state.latestOrdinaryWaiterNotOf(holder, () => budget.spend());
    if (latest === null) continue;
    for (const w of own) {
      budget.spend();
      if (!queuedBefore(w, latest)) continue;
      const behind = (v: Waiter) => { budget.spend(); return v.holder !== holder && !v.conversion && queuedBefore(w, v); };
      if (findOverlap(state.exclusiveWaiting, w.start, w.end, behind) !== undefined) return true;
      if (isExclusive(w.mode) && findOverlap(state.sharedWaiting, w.start, w.end, behind) !== undefined) return true;
    }
  }
  return false;
}

/**
 * After a tentative change that may add edges from `holder`: true (and the
 * change undone) when it closed a cycle; when the check cannot finish
 * (WAIT_GRAPH_TOO_LARGE) the change is undone and the error rethrown.
 */
export function closesCycle(holder: HolderRef, undo: () => void, unregistered?: Entry): boolean {
  let cycle: boolean;
  try {
    cycle = reachesItself(holder, unregistered);
  } catch (e) {
    undo();
    throw e;
  }
  if (cycle) undo();
  return cycle;
}

/**
 * True when `holder` reaches itself in the wait-for graph. O(edges reachable
 * from it). `unregistered`: a granted entry of the holder already in its
 * resource's tree but not yet in holder.rangeGrants (a grant being tried).
 */
export function reachesItself(holder: HolderRef, unregistered?: Entry): boolean {
  const budget = new Budget(WAIT_GRAPH_BUDGET);
  if (holder.rangeWaiters === null || !isWaitedFor(holder, unregistered, budget)) return false;
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
    for (const w of latestOfEachShape(h.rangeWaiters, budget)) {
      forEachBlockingHolder(w, visit, budget);
      if (found) break;
    }
  }
  return found;
}

/**
 * One waiter per (resource, mode, range, conversion): the one queued last.
 * It waits for everything an earlier one of the same shape waits for (the
 * same granted entries, and more earlier waiters), so the others add no
 * edge — a holder with a thousand identical requests is searched once.
 */
function latestOfEachShape(waiters: Iterable<Waiter>, budget: Budget): Waiter[] {
  const byState = new Map<Waiter['state'], Map<string, Waiter>>();
  for (const w of waiters) {
    budget.spend();
    let shapes = byState.get(w.state);
    if (shapes === undefined) byState.set(w.state, (shapes = new Map()));
    const key = `${w.mode}|${w.start}|${w.end}|${w.conversion ? 1 : 0}`;
    const seen = shapes.get(key);
    if (seen === undefined || queuedBefore(seen, w)) shapes.set(key, w);
  }
  const out: Waiter[] = [];
  for (const shapes of byState.values()) out.push(...shapes.values());
  return out;
}
