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
  let grants: Entry[] | null = null;
  let order: ResourceState[] | null = null;
  let i = 0;
  const step = (): void => {
    const yielded = () => {
      if (!ops.slicer.overBudget()) return false;
      ops.later(step);
      return true;
    };
    for (; i < waiters.length; i++) {
      if (yielded()) return;
      const w = waiters[i];
      if (!ops.isWaiting(w)) continue;
      ops.removeWaiter(w);
      touched.add(w.state);
    }
    if (job.withGrants && grants === null) {
      grants = [...session.grants];
      i = 0;
    }
    for (; grants !== null && i < grants.length; i++) {
      if (yielded()) return;
      const e = grants[i];
      if (!ops.isGranted(e)) continue;
      ops.removeEntry(e);
      touched.add(e.state);
    }
    if (order === null) {
      for (const h of [...session.holders.values()]) ops.prune(h);
      order = [...touched].sort((a, b) => compare(a.resource, b.resource) || compare(a.space, b.space));
      i = 0;
    }
    for (; i < order.length; i++) {
      if (yielded()) return;
      ops.settle(order[i]);
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
