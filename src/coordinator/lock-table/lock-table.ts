import type { TimerHandle } from '../../common/clock';
import { InvalidArgumentError, LockConflictError, NotFoundError, ResourceExhaustedError } from '../../common/errors';
import { Entry, Waiter } from './entries';
import { EventOutbox } from './event-outbox';
import { HoldPolicy } from './hold-policy';
import { isExclusive, isUpgrade } from './modes';
import { LockTableOptions, checkOptions } from './options';
import { expandRange } from './range-expansion';
import * as check from './request-check';
import { ResourceState } from './resource-state';
import { Revoker } from './revocation';
import { HolderRef, SessionRegistry } from './sessions';
import { buildDump, toGrant } from './snapshots';
import {
  AcquireRequest, ConvertRequest, Grant, Holder, LockMode, LockSpace, LockTableDump, LockTableStats, ReclaimRequest,
} from './types';
import { reachesItself } from './wait-for-graph';
import { walkQueue } from './queue-walk';

type FailReason = 'TIMEOUT' | 'DEADLOCK' | 'CANCELLED';

/**
 * The coordinator's lock table (DESIGN §2–3): tokens and range locks per
 * (resource, space), FIFO fairness with a DLM-style convert queue,
 * deadlock detection for range locks, timeouts, grant-more-than-asked,
 * revocation with adaptive hold times, uncached mode, and fencing tokens.
 *
 * Pure and clock-driven: no I/O, no wall time; time comes from the injected
 * Clock and the outside world hears about asynchronous outcomes through
 * onEvent (see EventOutbox for when events are delivered). Every method
 * validates its input first and changes nothing when it throws.
 */
export class LockTable {
  private readonly o: Required<LockTableOptions>;
  private readonly outbox: EventOutbox;
  private readonly hold: HoldPolicy;
  private readonly revoker: Revoker;
  private readonly sessions = new SessionRegistry();
  private readonly states: Record<LockSpace, Map<string, ResourceState>> = {
    data: new Map(), attr: new Map(), dir: new Map(), range: new Map(),
  };
  private readonly locks = new Map<number, Entry>();
  private readonly waiting = new Map<string, Waiter>();
  private epoch: number;
  private counter = 0;
  private nextLockId = 1;
  private nextSeq = 1;

  constructor(options: LockTableOptions) {
    this.o = checkOptions(options);
    this.epoch = this.o.epoch;
    this.outbox = new EventOutbox(this.o.onEvent);
    this.hold = new HoldPolicy(this.o.minHoldMs, this.o.maxHoldMs);
    this.revoker = new Revoker({
      clock: this.o.clock, holdPolicy: this.hold, revokeDeadlineMs: this.o.revokeDeadlineMs,
      revokeResendMs: this.o.revokeResendMs, maxResendMs: Math.max(1000, this.o.revokeResendMs),
      emit: (e) => this.outbox.emit(e), setTimer: (ms, fn) => this.setTimer(ms, fn),
    });
  }

  /** Grants at once, queues (wait: true) or throws LOCK_CONFLICT / DEADLOCK / QUEUE_FULL / INVALID_*. */
  acquire(req: AcquireRequest): Grant | 'queued' {
    return this.outbox.run(() => {
      const r = check.checkRequestObject(req, 'acquire request');
      const requestId = check.checkId(r.requestId, 'requestId');
      const resource = check.checkId(r.resource, 'resource');
      const space = check.checkSpace(r.space);
      const mode = check.checkMode(space, r.mode);
      const { start, end } = check.checkSpaceRange(space, r.range);
      const h = check.checkHolder(r.holder);
      const wait = check.checkWait(r.wait);
      const timeoutMs = check.checkTimeout(r.timeoutMs);
      this.checkNotWaiting(requestId);
      const holder = this.sessions.holder(h.sessionId, h.owner);
      const state = this.stateFor(space, resource);
      try {
        return this.request(state, null, { requestId, mode, start, end, holder: h, wait, timeoutMs }, holder);
      } finally {
        this.dropIfEmpty(state);
        this.sessions.prune(holder);
      }
    });
  }

  /** Changes mode and/or range of a held lock, keeping its lockId; waits like acquire when it cannot be done at once. */
  convert(req: ConvertRequest): Grant | 'queued' {
    return this.outbox.run(() => {
      const r = check.checkRequestObject(req, 'convert request');
      const requestId = check.checkId(r.requestId, 'requestId');
      const e = this.ownedLock(r.lockId, r.holder);
      const mode = check.checkMode(e.state.space, r.mode);
      const { start, end } = check.checkSpaceRange(e.state.space, r.range);
      const wait = check.checkWait(r.wait);
      const timeoutMs = check.checkTimeout(r.timeoutMs);
      this.checkNotWaiting(requestId);
      if (e.pendingConvert !== null) {
        throw new InvalidArgumentError('INVALID_ARGUMENT', 'a conversion of this lock is already waiting', { lockId: e.lockId });
      }
      return this.request(e.state, e, { requestId, mode, start, end, holder: e.holder.toHolder(), wait, timeoutMs }, e.holder);
    });
  }

  release(lockId: number, holder: Holder): void {
    this.outbox.run(() => {
      const e = this.ownedLock(lockId, holder);
      this.removeEntry(e);
      this.settle(e.state);
      this.sessions.prune(e.holder);
    });
  }

  /** Withdraws a waiting acquire or convert, silently. False when nothing with that id waits. */
  cancel(requestId: string): boolean {
    return this.outbox.run(() => {
      const w = typeof requestId === 'string' ? this.waiting.get(requestId) : undefined;
      if (w === undefined) return false;
      this.removeWaiter(w);
      this.sessions.prune(w.holder);
      this.settle(w.state);
      return true;
    });
  }

  /** Frees every grant and waiter of a dead or evicted session (no events for them), then grants what became grantable. */
  releaseSession(sessionId: string): void {
    this.outbox.run(() => {
      const session = this.sessions.get(check.checkId(sessionId, 'sessionId'));
      if (session === undefined) return;
      const touched = new Set<ResourceState>();
      for (const w of [...session.waiters]) {
        this.removeWaiter(w);
        touched.add(w.state);
      }
      for (const e of [...session.grants]) {
        this.removeEntry(e);
        touched.add(e.state);
      }
      for (const h of [...session.holders.values()]) this.sessions.prune(h);
      // A fixed order (resource, then space) keeps the outcome independent of history.
      const order = [...touched].sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : a.space < b.space ? -1 : a.space > b.space ? 1 : 0));
      for (const state of order) this.settle(state);
    });
  }

  /** Re-inserts a lock held before a failover with its lockId and fencing token; LOCK_CONFLICT if it clashes with a grant. */
  reclaim(grant: ReclaimRequest): Grant {
    return this.outbox.run(() => {
      const r = check.checkRequestObject(grant, 'reclaim');
      const lockId = check.checkLockId(r.lockId);
      const requestId = check.checkId(r.requestId, 'requestId');
      const resource = check.checkId(r.resource, 'resource');
      const space = check.checkSpace(r.space);
      const mode = check.checkMode(space, r.mode);
      const { start, end } = check.checkSpaceRange(space, r.range);
      const h = check.checkHolder(r.holder);
      const token = check.checkFencingToken(r.fencingToken, this.epoch);
      if (this.locks.has(lockId)) throw new LockConflictError('LOCK_CONFLICT', 'lock id already in use', { lockId });
      const holder = this.sessions.holder(h.sessionId, h.owner);
      const state = this.stateFor(space, resource);
      try {
        if (state.conflictingGranted(mode, holder, start, end) !== undefined) {
          throw new LockConflictError('LOCK_CONFLICT', 'reclaimed lock conflicts with a granted one', { lockId, resource });
        }
        const e = new Entry(lockId, requestId, state, mode, start, end, holder, token.epoch, token.counter, this.o.clock.nowMs(), this.isUncached(state));
        this.tryInsert(e, true);
        this.locks.set(lockId, e);
        this.sessions.addGrant(e);
        if (token.epoch === this.epoch && token.counter > this.counter) this.counter = token.counter;
        if (lockId >= this.nextLockId) this.nextLockId = lockId + 1;
        this.afterGrant(e);
        return toGrant(e);
      } finally {
        this.dropIfEmpty(state);
        this.sessions.prune(holder);
      }
    });
  }

  /** A new (larger) epoch restarts the counter; fencing tokens still increase because they compare epoch first. */
  setEpoch(epoch: number): void {
    const next = check.checkEpoch(epoch);
    if (next < this.epoch) throw new InvalidArgumentError('INVALID_ARGUMENT', 'epoch must not decrease', { epoch, current: this.epoch });
    if (next > this.epoch) {
      this.epoch = next;
      this.counter = 0;
    }
  }

  grantsOf(sessionId: string): Grant[] {
    const session = this.sessions.get(sessionId);
    return session === undefined ? [] : [...session.grants].map(toGrant);
  }

  getGrant(lockId: number): Grant | undefined {
    const e = this.locks.get(lockId);
    return e === undefined ? undefined : toGrant(e);
  }

  dump(filter: { resourcePrefix?: string } = {}): LockTableDump {
    const prefix = filter.resourcePrefix === undefined ? '' : check.checkId(filter.resourcePrefix, 'resourcePrefix', true);
    return buildDump(Object.values(this.states), prefix);
  }

  stats(): LockTableStats {
    let resources = 0;
    for (const m of Object.values(this.states)) resources += m.size;
    return { grants: this.locks.size, waiters: this.waiting.size, resources };
  }

  // ---- the two halves of acquire/convert ----

  private request(state: ResourceState, target: Entry | null, r: check.CheckedRequest, holder: HolderRef): Grant | 'queued' {
    const conversion = state.holderOverlaps(holder, r.start, r.end);
    const grantable = state.conflictingGranted(r.mode, holder, r.start, r.end) === undefined
      && (conversion || state.conflictingWaiter(r.mode, holder, r.start, r.end) === undefined);
    if (grantable) {
      const e = target ?? this.grantNew(state, r, holder, conversion);
      if (target !== null && this.grantConvert(target, r)) this.settle(state);
      this.afterGrant(e);
      return toGrant(e);
    }
    if (!r.wait) throw new LockConflictError('LOCK_CONFLICT', 'the lock is held or awaited by another holder', { requestId: r.requestId });
    if (holder.session.waiters.size >= this.o.maxWaitersPerSession) {
      throw new ResourceExhaustedError('QUEUE_FULL', 'too many waiting requests for this session', { sessionId: holder.sessionId, max: this.o.maxWaitersPerSession });
    }
    const w = new Waiter(r.requestId, state, r.mode, r.start, r.end, holder, conversion, target, this.nextSeq++, this.o.clock.nowMs());
    this.addWaiter(w);
    if (state.space === 'range' && reachesItself(holder)) {
      this.removeWaiter(w);
      throw new LockConflictError('DEADLOCK', 'waiting would close a cycle in the wait-for graph', { requestId: r.requestId });
    }
    if (state.isToken) state.forEachConflictingGranted(r.mode, holder, r.start, r.end, (e) => this.revoker.ensure(e));
    if (r.timeoutMs !== undefined) w.timer = this.setTimer(r.timeoutMs, () => this.onTimeout(w));
    return 'queued';
  }

  private grantNew(state: ResourceState, r: { requestId: string; mode: LockMode; start: number; end: number }, holder: HolderRef, conversion: boolean): Entry {
    const [start, end] = expandRange(state, this.hold, this.o.clock.nowMs(), r.mode, holder, r.start, r.end);
    const e = new Entry(this.nextLockId, r.requestId, state, r.mode, start, end, holder, 0, 0, this.o.clock.nowMs(), this.isUncached(state));
    this.tryInsert(e, conversion);
    this.nextLockId++;
    this.stamp(e);
    this.locks.set(e.lockId, e);
    this.sessions.addGrant(e);
    return e;
  }

  /** Applies a conversion to lock e; true when that freed bytes or strength (waiters may now fit). */
  private grantConvert(e: Entry, r: { requestId: string; mode: LockMode; start: number; end: number }): boolean {
    const upgrade = isUpgrade(e.mode, e.start, e.end, r.mode, r.start, r.end);
    const [oldMode, oldStart, oldEnd] = [e.mode, e.start, e.end];
    this.reshape(e, r.mode, r.start, r.end);
    if (upgrade && e.state.space === 'range' && reachesItself(e.holder)) {
      this.reshape(e, oldMode, oldStart, oldEnd);
      throw new LockConflictError('DEADLOCK', 'converting would close a cycle in the wait-for graph', { lockId: e.lockId });
    }
    e.requestId = r.requestId;
    if (upgrade) {
      // An upgrade is a new grant: new token, and (as GFS2 does on promotion) the minimum hold restarts,
      // so a revoke under way starts over once afterGrant() finds the lock still blocking someone.
      e.grantedAtMs = this.o.clock.nowMs();
      e.uncached = this.isUncached(e.state);
      this.stamp(e);
      this.revoker.stop(e);
    }
    return oldStart < e.start || oldEnd > e.end || (isExclusive(oldMode) && !isExclusive(e.mode));
  }

  /** Inserts a new granted entry; a conversion or reclaim that would close a wait-for cycle is undone and refused. */
  private tryInsert(e: Entry, mayAddEdges: boolean): void {
    e.state.addGranted(e);
    if (false) {
      e.state.removeGranted(e);
      throw new LockConflictError('DEADLOCK', 'granting would close a cycle in the wait-for graph', { requestId: e.requestId });
    }
  }

  // ---- waiters leaving the queue ----

  /** Grants a waiter chosen by the queue walk; true when that freed bytes (see walkQueue). */
  private grantWaiter(w: Waiter): boolean {
    this.removeWaiter(w);
    try {
      let freed = false;
      let e: Entry;
      if (w.target === null) e = this.grantNew(w.state, w, w.holder, w.conversion);
      else freed = this.grantConvert((e = w.target), w);
      this.outbox.emit({ kind: 'granted', grant: toGrant(e) });
      this.afterGrant(e);
      return freed;
    } catch (err) {
      if (!(err instanceof LockConflictError)) throw err;
      this.fail(w, 'DEADLOCK', 'granting would close a cycle in the wait-for graph');
      this.sessions.prune(w.holder);
      return false;
    }
  }

  private onTimeout(w: Waiter): void {
    if (this.waiting.get(w.requestId) !== w) return;
    w.timer = null;
    this.removeWaiter(w);
    this.fail(w, 'TIMEOUT', 'gave up waiting after timeoutMs');
    this.sessions.prune(w.holder);
    this.settle(w.state);
  }

  private fail(w: Waiter, reason: FailReason, message: string): void {
    this.outbox.emit({ kind: 'failed', requestId: w.requestId, holder: w.holder.toHolder(), reason, message });
  }

  // ---- bookkeeping ----

  private addWaiter(w: Waiter): void {
    w.state.enqueue(w);
    this.waiting.set(w.requestId, w);
    this.sessions.addWaiter(w, w.state.space === 'range');
    if (w.target !== null) w.target.pendingConvert = w;
  }

  private removeWaiter(w: Waiter): void {
    w.state.dequeue(w);
    this.waiting.delete(w.requestId);
    this.sessions.removeWaiter(w);
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
    this.revoker.stop(e);
    e.state.removeGranted(e);
    this.locks.delete(e.lockId);
    this.sessions.removeGrant(e);
  }

  /** Changes a granted entry's mode and range in place (it moves in the trees). */
  private reshape(e: Entry, mode: LockMode, start: number, end: number): void {
    e.state.removeGranted(e);
    e.mode = mode;
    e.start = start;
    e.end = end;
    e.state.addGranted(e);
  }

  private stamp(e: Entry): void {
    e.epoch = this.epoch;
    e.counter = ++this.counter;
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
    this.dropIfEmpty(state);
  }

  private isUncached(state: ResourceState): boolean {
    return state.isToken && this.hold.isUncached(state, this.o.clock.nowMs());
  }

  private stateFor(space: LockSpace, resource: string): ResourceState {
    const map = this.states[space];
    let state = map.get(resource);
    if (state === undefined) {
      state = new ResourceState(resource, space);
      this.hold.attach(state);
      map.set(resource, state);
    }
    return state;
  }

  private dropIfEmpty(state: ResourceState): void {
    if (!state.isEmpty()) return;
    const map = this.states[state.space];
    if (map.get(state.resource) !== state) return;
    map.delete(state.resource);
    this.hold.detach(state, this.o.clock.nowMs());
  }

  private ownedLock(lockId: unknown, holder: unknown): Entry {
    const id = check.checkLockId(lockId);
    const h = check.checkHolder(holder);
    const e = this.locks.get(id);
    if (e === undefined || e.holder.sessionId !== h.sessionId || e.holder.owner !== h.owner) {
      throw new NotFoundError('LOCK_NOT_FOUND', 'no such lock held by this holder', { lockId: id });
    }
    return e;
  }

  private checkNotWaiting(requestId: string): void {
    if (this.waiting.has(requestId)) throw new InvalidArgumentError('INVALID_ARGUMENT', 'a request with this id is already waiting', { requestId });
  }

  private setTimer(delayMs: number, fn: () => void): TimerHandle {
    return this.o.clock.setTimer(delayMs, () => this.outbox.run(fn));
  }
}
