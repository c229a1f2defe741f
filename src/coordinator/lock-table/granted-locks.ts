import type { Clock } from '../../common/clock';
import { LockConflictError } from '../../common/errors';
import { Entry } from './entries';
import type { Fencing } from './fencing';
import type { HoldPolicy } from './hold-policy';
import { isExclusive, isUpgrade } from './modes';
import { expandRange } from './range-expansion';
import type { ResourceState } from './resource-state';
import type { Revoker } from './revocation';
import type { HolderRef, SessionRegistry } from './sessions';
import type { FencingToken, LockMode } from './types';
import { closesCycle } from './wait-for-graph';

/** What a request asks of a lock: who asked, the mode and the byte range. */
/** noDirect: an acquire its host's kernel caches under (entries.ts). */
export type Shape = { requestId: string; mode: LockMode; start: number; end: number; noDirect?: boolean };

export interface GrantedLocksDeps {
  clock: Clock;
  hold: HoldPolicy;
  fencing: Fencing;
  sessions: SessionRegistry;
  /** Revokes under way stop when their lock changes strength or leaves. */
  revoker: Pick<Revoker, 'stop'>;
}

/**
 * The granted locks of a lock table by id, and every change to one: a new
 * grant (lock id, expanded range, fencing token), a conversion, a reclaimed
 * lock from before a failover, a reshape, a removal. Each keeps the
 * resource's trees and the session's records in step, and a change that
 * would close a wait-for cycle is undone and refused (DEADLOCK). Whether a
 * change is allowed at all is the grant engine's question (grant-engine.ts).
 */
export class GrantedLocks {
  readonly byId = new Map<number, Entry>();
  private nextLockId = 1;

  constructor(private readonly d: GrantedLocksDeps) {}

  grantNew(state: ResourceState, r: Shape, holder: HolderRef, conversion: boolean): Entry {
    const nowMs = this.d.clock.nowMs();
    const [start, end] = expandRange(state, this.d.hold, nowMs, r.mode, holder, r.start, r.end);
    const e = new Entry(this.nextLockId, r.requestId, state, r.mode, start, end, holder, 0, 0, nowMs, this.isUncached(state));
    e.noDirect = r.noDirect === true;
    this.tryInsert(e, conversion);
    this.nextLockId++;
    const token = this.d.fencing.next();
    e.epoch = token.epoch;
    e.counter = token.counter;
    this.byId.set(e.lockId, e);
    this.d.sessions.addGrant(e);
    return e;
  }

  /** Applies a conversion to lock e; true when that freed bytes or strength (waiters may now fit). */
  convert(e: Entry, r: Shape): boolean {
    const upgrade = isUpgrade(e.mode, e.start, e.end, r.mode, r.start, r.end);
    const [oldMode, oldStart, oldEnd] = [e.mode, e.start, e.end];
    this.reshape(e, r.mode, r.start, r.end);
    if (upgrade && e.state.space === 'range' && closesCycle(e.holder, () => this.reshape(e, oldMode, oldStart, oldEnd))) {
      throw new LockConflictError('DEADLOCK', 'converting would close a cycle in the wait-for graph', { lockId: e.lockId });
    }
    e.requestId = r.requestId;
    e.version++;
    if (upgrade) {
      // An upgrade is a new grant: a new token, and (as GFS2 does on promotion) the minimum hold restarts,
      // so a revoke under way starts over once afterGrant() finds the lock still blocking someone.
      const token = this.d.fencing.next();
      e.epoch = token.epoch;
      e.counter = token.counter;
      e.grantedAtMs = this.d.clock.nowMs();
      e.uncached = this.isUncached(e.state);
      this.d.revoker.stop(e);
    }
    return oldStart < e.start || oldEnd > e.end || (oldMode !== e.mode && !isExclusive(e.mode));
  }

  /** Re-inserts a lock from before a failover under its own id, token and version; LOCK_CONFLICT when it clashes with a grant. */
  reclaim(state: ResourceState, lockId: number, r: Shape, holder: HolderRef, token: FencingToken, version: number): Entry {
    if (state.conflictingGranted(r.mode, holder, r.start, r.end) !== undefined) {
      throw new LockConflictError('LOCK_CONFLICT', 'reclaimed lock conflicts with a granted one', { lockId, resource: state.resource });
    }
    const e = new Entry(lockId, r.requestId, state, r.mode, r.start, r.end, holder, token.epoch, token.counter, this.d.clock.nowMs(), this.isUncached(state));
    e.version = version;
    this.tryInsert(e, true);
    this.byId.set(lockId, e);
    this.d.sessions.addGrant(e);
    this.d.fencing.observe(token);
    if (lockId >= this.nextLockId) this.nextLockId = lockId + 1;
    return e;
  }

  /** Changes a granted entry's mode and range in place (it moves in the trees). */
  reshape(e: Entry, mode: LockMode, start: number, end: number): void {
    e.state.removeGranted(e);
    e.mode = mode;
    e.start = start;
    e.end = end;
    e.state.addGranted(e);
  }

  /** Takes a granted lock out (a conversion it had waiting is the caller's to end first). */
  remove(e: Entry): void {
    this.d.revoker.stop(e);
    e.state.removeGranted(e);
    this.byId.delete(e.lockId);
    this.d.sessions.removeGrant(e);
  }

  /** Inserts a new granted entry; one that would close a wait-for cycle is taken out again and refused. */
  private tryInsert(e: Entry, mayAddEdges: boolean): void {
    e.state.addGranted(e);
    if (mayAddEdges && e.state.space === 'range' && closesCycle(e.holder, () => e.state.removeGranted(e), e)) {
      throw new LockConflictError('DEADLOCK', 'granting would close a cycle in the wait-for graph', { requestId: e.requestId });
    }
  }

  private isUncached(state: ResourceState): boolean {
    return state.isToken && this.d.hold.isUncached(state, this.d.clock.nowMs());
  }
}
