import type { Clock, TimerHandle } from '../../common/clock';
import { LockConflictError, ResourceExhaustedError, SessionLostError, isCoherdError } from '../../common/errors';
import type { WorkSlicer } from '../../common/loop-slicer';
import { Entry, Waiter } from './entries';
import type { EventOutbox } from './event-outbox';
import type { Fencing } from './fencing';
import type { HoldPolicy } from './hold-policy';
import { directShape } from './direct-shape';
import { GrantedLocks, Shape } from './granted-locks';
import { walkQueue } from './queue-walk';
import type { CheckedRequest } from './request-check';
import type { ResourceRegistry } from './resource-registry';
import type { ResourceState } from './resource-state';
import { Revoker } from './revocation';
import { releaseSession } from './session-release';
import type { HolderRef, SessionRecord, SessionRegistry } from './sessions';
import { toGrant } from './snapshots';
import { FencingToken, Grant, LockMode } from './types';
import { closesCycle } from './wait-for-graph';
import { cannotUnblockAnyone } from './settle-shortcut';

export interface GrantEngineDeps {
  clock: Clock;
  outbox: EventOutbox;
  hold: HoldPolicy;
  fencing: Fencing;
  sessions: SessionRegistry;
  registry: ResourceRegistry;
  maxWaitersPerSession: number;
  maxWaitersPerResource: number;
  revokeDeadlineMs: number;
  revokeResendMs: number;
  /** Paces timer work and session freeing (options.ts). */
  slicer: WorkSlicer;
  /** False: a timer must not act (options.ts). */
  mayAct: () => boolean;
}

/**
 * The grant rules of DESIGN §3 on validated input: grant or queue (FIFO,
 * conversions first), grant what became grantable when something leaves,
 * refuse waits and conversions that would close a wait-for cycle, time
 * waiters out, and start revokes for tokens that keep someone waiting.
 *
 * A request is a conversion when one of its holder's granted entries
 * contains the range (acquire or convert alike); conversions are checked
 * against granted entries only and queue ahead of ordinary waiters. A
 * request reaching beyond what the holder has waits its turn like any
 * other, so holding a few bytes never lets a whole-file request jump the
 * queue. Only
 * changes that can add wait-for edges (queueing, granting a conversion,
 * reclaiming) run the cycle check, and only in the range space.
 */
export class GrantEngine {
  readonly locks: Map<number, Entry>;
  readonly waiting = new Map<string, Waiter>();
  private readonly revoker: Revoker;
  private readonly granted: GrantedLocks;
  private nextSeq = 1;

  constructor(private readonly d: GrantEngineDeps) {
    this.revoker = new Revoker({
      clock: d.clock, holdPolicy: d.hold, revokeDeadlineMs: d.revokeDeadlineMs, revokeResendMs: d.revokeResendMs,
      maxResendMs: Math.max(1000, d.revokeResendMs), emit: (e) => d.outbox.emit(e), setTimer: (ms, fn) => this.setTimer(ms, fn),
    });
    this.granted = new GrantedLocks({ clock: d.clock, hold: d.hold, fencing: d.fencing, sessions: d.sessions, revoker: this.revoker });
    this.locks = this.granted.byId;
  }

  /** acquire (target null) or convert (target = the lock): grant now, queue, or throw. */
  request(state: ResourceState, target: Entry | null, req: CheckedRequest, holder: HolderRef): Grant | 'queued' {
    if (holder.session.releasing !== null) throw new SessionLostError('SESSION_CLOSING', 'the session is being freed', { sessionId: holder.sessionId });
    const r = target === null ? directShape(this.d, state, req, holder) : req;
    const conversion = state.holderContains(holder, r.start, r.end);
    const inTheWay = state.conflictingGranted(r.mode, holder, r.start, r.end);
    const grantable = inTheWay === undefined && (conversion || state.conflictingWaiter(r.mode, holder, r.start, r.end) === undefined);
    if (grantable) {
      const e = target ?? this.granted.grantNew(state, r, holder, conversion);
      if (target !== null && this.granted.convert(target, r)) this.settle(state);
      this.afterGrant(e);
      return toGrant(e);
    }
    // A try-lock names the granted lock in its way (F_GETLK reports it); none when only a queued request is.
    if (!r.wait) throw new LockConflictError('LOCK_CONFLICT', 'the lock is held or awaited by another holder', { requestId: r.requestId, conflict: inTheWay && toGrant(inTheWay) });
    if (holder.session.waiters.size >= this.d.maxWaitersPerSession) {
      throw new ResourceExhaustedError('QUEUE_FULL', 'too many waiting requests for this session', { sessionId: holder.sessionId, max: this.d.maxWaitersPerSession });
    }
    if (holder.session.waitersOn(state) >= this.d.maxWaitersPerResource) {
      throw new ResourceExhaustedError('WAITER_QUOTA', 'too many waiting requests of this session for this resource', { sessionId: holder.sessionId, resource: state.resource, max: this.d.maxWaitersPerResource });
    }
    const w = new Waiter(r.requestId, state, r.mode, r.start, r.end, holder, conversion, target, this.nextSeq++, this.d.clock.nowMs());
    w.noDirect = r.noDirect === true;
    this.addWaiter(w);
    if (state.space === 'range' && closesCycle(holder, () => this.removeWaiter(w))) {
      throw new LockConflictError('DEADLOCK', 'waiting would close a cycle in the wait-for graph', { requestId: r.requestId });
    }
    if (state.isToken) state.forEachConflictingGranted(r.mode, holder, r.start, r.end, (e) => this.revoker.ensure(e));
    if (r.timeoutMs !== undefined) w.timer = this.setTimer(r.timeoutMs, () => this.onTimeout(w));
    return 'queued';
  }

  /**
   * A holder gives rights back (a revoke answer): applied at once, even while
   * a conversion of the same lock waits (DESIGN §2: giving back never waits;
   * the conversion stays queued and later sets the lock to what it asked).
   * The caller checked that (mode, range) only reduces the lock.
   */
  reduce(e: Entry, mode: LockMode, start: number, end: number): Grant {
    this.granted.reshape(e, mode, start, end);
    e.version++;
    this.settle(e.state);
    return toGrant(e);
  }

  /** A revoke answer named an older version: ask again at once with the current one. */
  resendRevoke(e: Entry): void {
    this.revoker.resendNow(e);
  }

  /** Drops an evicted session's waiters (no events: the session is gone); its grants stay until its deadline. */
  dropWaiters(session: SessionRecord): void {
    this.freeSession(session, false);
  }

  /** Re-inserts a lock from before a failover; LOCK_CONFLICT when it clashes with a grant. */
  reclaim(state: ResourceState, lockId: number, r: Shape, holder: HolderRef, token: FencingToken, version: number): Grant {
    const e = this.granted.reclaim(state, lockId, r, holder, token, version);
    this.afterGrant(e);
    return toGrant(e);
  }

  release(e: Entry): void {
    this.removeEntry(e);
    this.settle(e.state);
    this.d.sessions.prune(e.holder);
  }

  cancel(w: Waiter): void {
    this.removeWaiter(w);
    this.d.sessions.prune(w.holder);
    this.settleAfterLeaving(w);
  }

  /** Frees a dead session silently, then grants what became grantable, resource by resource in a fixed order. */
  releaseSession(session: SessionRecord): void {
    this.freeSession(session, true);
  }

  /** Removes the session's waiters (and grants), silently, then grants what became grantable (session-release.ts: in slices). */
  private freeSession(session: SessionRecord, withGrants: boolean): void {
    releaseSession(session, withGrants, {
      slicer: this.d.slicer,
      later: (fn) => this.d.slicer.submit(() => this.d.outbox.run(fn)),
      isWaiting: (w) => this.waiting.get(w.requestId) === w,
      isGranted: (e) => this.locks.get(e.lockId) === e,
      removeWaiter: (w) => this.removeWaiter(w),
      removeEntry: (e) => this.removeEntry(e),
      prune: (h) => this.d.sessions.prune(h),
      settle: (state) => this.settle(state),
    });
  }

  /** Grants a waiter chosen by the queue walk; true when that freed bytes (see walkQueue). */
  private grantWaiter(w: Waiter): boolean {
    this.removeWaiter(w);
    if (w.holder.session.releasing !== null) return false; // its session is being freed: it leaves instead
    try {
      let freed = false;
      let e: Entry;
      if (w.target === null) e = this.granted.grantNew(w.state, w, w.holder, w.conversion);
      else freed = this.granted.convert((e = w.target), w);
      this.d.outbox.emit({ kind: 'granted', grant: toGrant(e) });
      this.afterGrant(e);
      return freed;
    } catch (err) {
      if (isCoherdError(err) && err.reason === 'WAIT_GRAPH_TOO_LARGE') this.fail(w, 'WAIT_GRAPH_TOO_LARGE', err.message);
      else if (err instanceof LockConflictError) this.fail(w, 'DEADLOCK', 'granting would close a cycle in the wait-for graph');
      else throw err;
      this.d.sessions.prune(w.holder);
      return false;
    }
  }

  private onTimeout(w: Waiter): void {
    if (this.waiting.get(w.requestId) !== w) return;
    w.timer = null;
    this.removeWaiter(w);
    this.fail(w, 'TIMEOUT', 'gave up waiting after timeoutMs');
    this.d.sessions.prune(w.holder);
    this.settleAfterLeaving(w);
  }

  private fail(w: Waiter, reason: 'TIMEOUT' | 'DEADLOCK' | 'CANCELLED' | 'WAIT_GRAPH_TOO_LARGE', message: string): void {
    this.d.outbox.emit({ kind: 'failed', requestId: w.requestId, holder: w.holder.toHolder(), reason, message });
  }

  private addWaiter(w: Waiter): void {
    w.state.enqueue(w);
    this.waiting.set(w.requestId, w);
    this.d.sessions.addWaiter(w, w.state.space === 'range');
    if (w.target !== null) w.target.pendingConvert = w;
  }

  private removeWaiter(w: Waiter): void {
    w.state.dequeue(w);
    this.waiting.delete(w.requestId);
    this.d.sessions.removeWaiter(w);
    w.timer?.cancel();
    w.timer = null;
    if (w.target !== null && w.target.pendingConvert === w) w.target.pendingConvert = null;
  }

  private removeEntry(e: Entry): void {
    const w = e.pendingConvert;
    if (w !== null) {
      this.removeWaiter(w);
      this.fail(w, 'CANCELLED', 'the lock was released while its conversion waited');
    }
    this.granted.remove(e);
  }

  /** A token that now keeps a waiter waiting is revoked (after its minimum hold). */
  private afterGrant(e: Entry): void {
    if (e.state.isToken && e.state.waiterCount > 0 && e.state.conflictingWaiter(e.mode, e.holder, e.start, e.end) !== undefined) {
      this.revoker.ensure(e);
    }
  }

  /** After anything left or shrank: grant what became grantable, stop needless revokes, drop an empty state. */
  private settle(state: ResourceState): void {
    walkQueue(state, (w) => this.grantWaiter(w));
    this.revoker.reevaluate(state);
    this.d.registry.dropIfEmpty(state);
  }

  /**
   * After one waiter left a settled queue (timeout, cancel): the same result
   * as settle(), in O(log n) when nothing can change, so 10,000 waiters
   * timing out together cost O(q log q), not O(q²) (see cannotUnblockAnyone).
   */
  private settleAfterLeaving(w: Waiter): void {
    if (!cannotUnblockAnyone(w)) return this.settle(w.state);
    this.revoker.reevaluate(w.state);
    this.d.registry.dropIfEmpty(w.state);
  }

  private setTimer(delayMs: number, fn: () => void): TimerHandle {
    return this.d.clock.setTimer(delayMs, () => { if (this.d.mayAct()) this.d.outbox.run(fn); });
  }
}
