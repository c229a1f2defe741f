import { END_OF_FILE } from '../../common/byte-range';
import type { Entry, Waiter } from './entries';
import { CONTENDED_GRANTS, HoldPolicy } from './hold-policy';
import { firstAtOrAfter, maxEndBefore } from './interval-tree';
import { isDirect, isExclusive } from './modes';
import type { ResourceState } from './resource-state';
import type { HolderRef } from './sessions';
import { LockMode } from './types';

/**
 * "Grant more than asked" for data tokens (DESIGN §3.2, GPFS's desired
 * range): a grantable request for [start, end) gets the largest range
 * [lo, hi) ⊇ [start, end) that
 *   - conflicts with no granted entry of another holder, and
 *   - overlaps no waiter at all;
 * bounded by [0, END_OF_FILE). If a waiter overlaps [start, end) itself
 * there is no such larger range and the request gets exactly what it asked.
 * No expansion while the resource is contended (hold-policy.ts: ≥ 4 revokes
 * within 1000 ms, or > 32 granted entries), like Lustre's limit on extent
 * growth; the holder then gets exactly its range, which keeps hosts that
 * write disjoint parts of a hot file from bouncing whole-file tokens.
 *
 * Precondition: the request is grantable, so no conflicting granted entry
 * overlaps [start, end); every conflicting entry lies wholly left or right.
 */
export function expandRange(
  state: ResourceState, policy: HoldPolicy, nowMs: number,
  mode: LockMode, holder: HolderRef, start: number, end: number,
): [number, number] {
  if (state.space !== 'data') return [start, end];
  if (state.grantCount > CONTENDED_GRANTS || policy.isContended(state, nowMs)) return [start, end];
  if (state.anyWaiterOverlaps(start, end)) return [start, end];
  const other = (n: Entry) => n.holder !== holder;
  const anyWaiter = (_: Waiter) => true;
  // Conflicting classes (modes.ts): WRITE conflicts with all, READ with WRITE and DIRECT, DIRECT with WRITE and READ.
  const direct = isDirect(mode);
  const conflictsShared = isExclusive(mode) || direct;

  let lo = maxEndBefore(state.exclusiveGranted, start, other, 0);
  if (conflictsShared) lo = maxEndBefore(state.sharedGranted, start, other, lo);
  if (!direct) lo = maxEndBefore(state.directGranted, start, other, lo);
  lo = maxEndBefore(state.exclusiveWaiting, start, anyWaiter, lo);
  lo = maxEndBefore(state.sharedWaiting, start, anyWaiter, lo);
  lo = maxEndBefore(state.directWaiting, start, anyWaiter, lo);

  let hi = END_OF_FILE;
  const lower = (n: { start: number } | undefined) => { if (n !== undefined && n.start < hi) hi = n.start; };
  lower(firstAtOrAfter(state.exclusiveGranted, end, other));
  if (conflictsShared) lower(firstAtOrAfter(state.sharedGranted, end, other));
  if (!direct) lower(firstAtOrAfter(state.directGranted, end, other));
  lower(firstAtOrAfter(state.exclusiveWaiting, end, anyWaiter));
  lower(firstAtOrAfter(state.sharedWaiting, end, anyWaiter));
  lower(firstAtOrAfter(state.directWaiting, end, anyWaiter));
  return [lo, hi];
}
