import { Entry, Waiter } from './entries';
import { findOverlap } from './interval-tree';
import { isDirect, isExclusive } from './modes';

/**
 * True when removing waiter w from a settled queue (every waiter blocked)
 * cannot make anyone grantable. Waiters ahead of w and conversions never
 * depended on it; a later ordinary waiter v could only be freed if it
 * overlaps w in a conflicting mode — and then, if a granted entry g covers
 * w's range in a mode conflicting with every such v, g still blocks v
 * unless v is g's own holder's (checked: g's holder waits for nothing
 * here). Granting never unblocks anyone else, so there is no cascade.
 */
export function cannotUnblockAnyone(w: Waiter): boolean {
  const state = w.state;
  if (state.waiterCount === 0) return true;
  const covers = (e: Entry) => e.start <= w.start && w.end <= e.end;
  // g must conflict with every mode that conflicts with w's: WRITE for a WRITE waiter, WRITE or READ for
  // a READ one (READ conflicts with WRITE and DIRECT), WRITE or DIRECT for a DIRECT one.
  const g = findOverlap(state.exclusiveGranted, w.start, w.end, covers)
    ?? (isExclusive(w.mode) ? undefined : findOverlap(isDirect(w.mode) ? state.directGranted : state.sharedGranted, w.start, w.end, covers));
  if (g === undefined) return false;
  // Range holders are counted one by one; token holders are whole sessions (owner ''), counted per session.
  const ownWaiting = state.space === 'range' ? g.holder.rangeWaitersByState.get(state)?.size ?? 0 : g.holder.session.waitersOn(state);
  return ownWaiting === 0;
}

