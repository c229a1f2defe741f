import type { WorkSlicer } from '../../common/loop-slicer';
import type { Entry, Waiter } from './entries';
import type { ResourceState } from './resource-state';
import type { HolderRef, SessionRecord } from './sessions';

/** What freeing a session needs of the grant engine. */
export interface ReleaseOps {
  slicer: WorkSlicer;
  /** Runs fn later as a table operation (its events flushed after it). */
  later(fn: () => void): void;
  isWaiting(w: Waiter): boolean;
  isGranted(e: Entry): boolean;
  /** Removes a waiter silently (no event: the session is gone). */
  removeWaiter(w: Waiter): void;
  removeEntry(e: Entry): void;
  prune(h: HolderRef): void;
  /** Grants what became grantable in one resource. */
  settle(state: ResourceState): void;
}

/**
 * Frees a dead, closed or evicted session: its waiters, and with
 * withGrants its grants too, silently; then grants what became grantable,
 * resource by resource in a fixed order (resource, then space).
 *
 * A session may have 10,000 waiters, so the work goes in slices
 * (ops.slicer; issue 15): each removal is O(log n), and between slices the
 * loop serves everyone else. Meanwhile session.releasing is set, and the
 * engine neither grants to the session nor queues for it: a queue walk
 * that reaches one of its waiters drops it instead. Asked again while
 * under way (dropWaiters, then releaseSession), the job widens to grants.
 * With INLINE_SLICER everything happens at once, as before.
 */
export function releaseSession(session: SessionRecord, withGrants: boolean, ops: ReleaseOps): void {
  if (session.releasing !== null) {
    session.releasing.withGrants ||= withGrants;
    return;
  }
  const job = { withGrants };
  session.releasing = job;
  const touched = new Set<ResourceState>();
  const waiters = [...session.waiters];
  // Each phase keeps its own cursor: a step resumed after a yield goes on
  // where its phase stopped and never runs an earlier phase again.
  let phase: 'waiters' | 'grants' | 'settle' = 'waiters';
  let waiterAt = 0;
  /** Taken when the grant phase starts; null when the job did not free grants then. */
  let grants: Entry[] | null = null;
  let grantAt = 0;
  let order: ResourceState[] = [];
  let settleAt = 0;
  const step = (): void => {
    // At least one unit of work per step, so the job advances even when every slice is used up before it runs.
    let first = true;
    const yielded = () => {
      if (first) {
        first = false;
        return false;
      }
      if (!ops.slicer.overBudget()) return false;
      ops.later(step);
      return true;
    };
    if (phase === 'waiters') {
      for (; waiterAt < waiters.length; waiterAt++) {
        if (yielded()) return;
        const w = waiters[waiterAt];
        if (!ops.isWaiting(w)) continue;
        ops.removeWaiter(w);
        touched.add(w.state);
      }
      if (job.withGrants) grants = [...session.grants];
      phase = 'grants';
    }
    if (phase === 'grants') {
      for (; grants !== null && grantAt < grants.length; grantAt++) {
        if (yielded()) return;
        const e = grants[grantAt];
        if (!ops.isGranted(e)) continue;
        ops.removeEntry(e);
        touched.add(e.state);
      }
      for (const h of [...session.holders.values()]) ops.prune(h);
      order = [...touched].sort((a, b) => compare(a.resource, b.resource) || compare(a.space, b.space));
      phase = 'settle';
    }
    for (; settleAt < order.length; settleAt++) {
      if (yielded()) return;
      ops.settle(order[settleAt]);
    }
    session.releasing = null;
    // Widened to grants after its grant phase: free them too.
    if (job.withGrants && grants === null && session.grants.size > 0) releaseSession(session, true, ops);
  };
  step();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
