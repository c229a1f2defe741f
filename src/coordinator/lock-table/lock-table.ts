import { InvalidArgumentError, LockConflictError, NotFoundError, StaleVersionError } from '../../common/errors';
import type { Entry } from './entries';
import { EventOutbox } from './event-outbox';
import { Fencing } from './fencing';
import { GrantEngine } from './grant-engine';
import { HoldPolicy } from './hold-policy';
import { LockTableOptions, checkOptions } from './options';
import * as check from './request-check';
import { ResourceRegistry } from './resource-registry';
import { SessionRegistry } from './sessions';
import { buildDump, toGrant } from './snapshots';
import { isReductionOf } from './modes';
import type { DirectCounters, DirectResourceInfo } from './direct-mode';
import { AcquireRequest, ConvertRequest, Grant, Holder, LockTableDump, LockTableStats, ReclaimRequest, ReduceRequest } from './types';

/**
 * The coordinator's lock table (DESIGN §2–3): tokens and range locks per
 * (resource, space), FIFO fairness with a DLM-style convert queue,
 * deadlock detection for range locks, timeouts, grant-more-than-asked,
 * revocation with adaptive hold times, uncached and direct modes and fencing tokens.
 *
 * Pure and clock-driven: no I/O and no wall time. Asynchronous outcomes
 * (later grants, timeouts, revokes) reach the coordinator through onEvent,
 * delivered once the operation that caused them has finished. Every method
 * validates its input first and changes nothing when it throws.
 *
 * Decisions beyond the design card are written where they are made:
 * grant-engine.ts (conversions, cycle checks), range-expansion.ts,
 * hold-policy.ts (contention and uncached rules), revocation.ts.
 */
export class LockTable {
  private readonly outbox: EventOutbox;
  private readonly sessions = new SessionRegistry();
  private readonly registry: ResourceRegistry;
  private readonly fencing: Fencing;
  private readonly engine: GrantEngine;
  private readonly hold: HoldPolicy;
  private readonly clock: LockTableOptions['clock'];

  constructor(options: LockTableOptions) {
    const o = checkOptions(options);
    const hold = new HoldPolicy(o.minHoldMs, o.maxHoldMs, o.directAloneMs);
    this.hold = hold;
    this.clock = o.clock;
    this.outbox = new EventOutbox(o.onEvent);
    this.registry = new ResourceRegistry(hold, () => o.clock.nowMs());
    this.fencing = new Fencing(o.epoch);
    this.engine = new GrantEngine({
      clock: o.clock, outbox: this.outbox, hold, fencing: this.fencing, sessions: this.sessions, registry: this.registry,
      maxWaitersPerSession: o.maxWaitersPerSession, maxWaitersPerResource: o.maxWaitersPerResource, revokeDeadlineMs: o.revokeDeadlineMs, revokeResendMs: o.revokeResendMs,
      slicer: o.slicer, mayAct: o.mayAct,
    });
  }

  /**
   * Grants at once (the Grant is returned, no event), queues ('queued'; a
   * `granted` or `failed` event follows) or throws: LOCK_CONFLICT for a
   * try-lock, DEADLOCK, QUEUE_FULL, WAITER_QUOTA, INVALID_RANGE / INVALID_MODE / INVALID_ARGUMENT.
   */
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
      const noDirect = check.checkNoDirect(r.noDirect);
      this.checkNotWaiting(requestId);
      const holder = this.sessions.holder(h.sessionId, h.owner);
      const state = this.registry.get(space, resource);
      try {
        return this.engine.request(state, null, { requestId, mode, start, end, wait, timeoutMs, noDirect }, holder);
      } finally {
        this.registry.dropIfEmpty(state);
        this.sessions.prune(holder);
      }
    });
  }

  /**
   * Changes the mode and/or range of a held lock, keeping its lockId; the
   * grant then carries this requestId. Upgrades get a new fencing token,
   * downgrades keep theirs. Waits like acquire when it cannot be done at
   * once, with the lock unchanged meanwhile; exact range, never expanded.
   */
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
      return this.engine.request(e.state, e, { requestId, mode, start, end, wait, timeoutMs }, e.holder);
    });
  }

  /**
   * Applies a revoke answer that keeps part of the lock: a mode no stronger
   * and a range within the lock's, planned against the lock's current
   * version. Applied at once, even while a conversion of the lock waits.
   * STALE_VERSION when the lock changed since (the revoke is sent again at
   * once, so the holder answers against what it holds now);
   * PROTOCOL_VIOLATION when the answer would add rights or names a future
   * version. Nothing changes when it throws.
   */
  reduce(req: ReduceRequest): Grant {
    return this.outbox.run(() => {
      const r = check.checkRequestObject(req, 'reduce request');
      const e = this.ownedLock(r.lockId, r.holder);
      const version = check.checkVersion(r.version);
      const mode = check.checkMode(e.state.space, r.mode);
      const { start, end } = check.checkSpaceRange(e.state.space, r.range);
      if (version < e.version) {
        this.engine.resendRevoke(e);
        throw new StaleVersionError('STALE_VERSION', 'the answer was planned against an older version of the lock', { lockId: e.lockId, version, current: e.version });
      }
      if (version > e.version) {
        throw new InvalidArgumentError('PROTOCOL_VIOLATION', 'the answer names a version the lock never had', { lockId: e.lockId, version, current: e.version });
      }
      if (start < e.start || end > e.end || !isReductionOf(e.mode, mode)) {
        throw new InvalidArgumentError('PROTOCOL_VIOLATION', 'a revoke answer may only shrink or downgrade the lock', { lockId: e.lockId });
      }
      return this.engine.reduce(e, mode, start, end);
    });
  }

  /** Releases a lock; a conversion of it that was waiting fails with CANCELLED. */
  release(lockId: number, holder: Holder): void {
    this.outbox.run(() => this.engine.release(this.ownedLock(lockId, holder)));
  }

  /** Withdraws a waiting acquire or convert without any event. False when nothing with that id waits. */
  cancel(requestId: string): boolean {
    return this.outbox.run(() => {
      const w = typeof requestId === 'string' ? this.engine.waiting.get(requestId) : undefined;
      if (w === undefined) return false;
      this.engine.cancel(w);
      return true;
    });
  }

  /** Frees every grant and waiter of a dead or evicted session (no events for them), then grants what became grantable. */
  releaseSession(sessionId: string): void {
    this.outbox.run(() => {
      const session = this.sessions.get(check.checkId(sessionId, 'sessionId'));
      if (session !== undefined) this.engine.releaseSession(session);
    });
  }

  /**
   * An evicted session's waiters go at once (nothing may be granted to it
   * any more); its grants stay until releaseSession(), at its deadline.
   */
  dropWaiters(sessionId: string): void {
    this.outbox.run(() => {
      const session = this.sessions.get(check.checkId(sessionId, 'sessionId'));
      if (session !== undefined) this.engine.dropWaiters(session);
    });
  }

  /**
   * After a failover: re-inserts a lock with its old lockId and fencing
   * token. LOCK_CONFLICT when it conflicts with a granted lock or its id is
   * taken; DEADLOCK if it would close a wait-for cycle (reclaims happen
   * before new requests queue, so either means a bug).
   */
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
      const token = check.checkFencingToken(r.fencingToken, this.fencing.currentEpoch());
      const version = r.version === undefined ? 1 : check.checkVersion(r.version);
      const existing = this.engine.locks.get(lockId);
      if (existing !== undefined) {
        // The same reclaim again (its first answer was lost with a stream): the lock as reclaimed, if it covers what is asked.
        const same = existing.holder.sessionId === h.sessionId && existing.holder.owner === h.owner && existing.state.resource === resource
          && existing.state.space === space && existing.start <= start && end <= existing.end && isReductionOf(existing.mode, mode);
        if (same) return toGrant(existing);
        throw new LockConflictError('LOCK_CONFLICT', 'lock id already in use', { lockId });
      }
      const holder = this.sessions.holder(h.sessionId, h.owner);
      const state = this.registry.get(space, resource);
      try {
        return this.engine.reclaim(state, lockId, { requestId, mode, start, end }, holder, token, version);
      } finally {
        this.registry.dropIfEmpty(state);
        this.sessions.prune(holder);
      }
    });
  }

  /** A new (larger) epoch restarts the counter; an equal one changes nothing; a smaller one is refused. */
  setEpoch(epoch: number): void {
    this.fencing.setEpoch(check.checkEpoch(epoch));
  }

  grantsOf(sessionId: string): Grant[] {
    const session = this.sessions.get(sessionId);
    return session === undefined ? [] : [...session.grants].map(toGrant);
  }

  getGrant(lockId: number): Grant | undefined {
    const e = this.engine.locks.get(lockId);
    return e === undefined ? undefined : toGrant(e);
  }

  /** Grants in range order and waiters in queue order, resource by resource. O(everything): for admin use. */
  dump(filter: { resourcePrefix?: string } = {}): LockTableDump {
    const prefix = filter?.resourcePrefix === undefined ? '' : check.checkId(filter.resourcePrefix, 'resourcePrefix', true);
    return buildDump(this.registry.maps(), prefix);
  }

  /** Resources in direct mode now, with when and why they entered (docs/direct-mode.md). */
  directResources(): DirectResourceInfo[] {
    return this.hold.direct.list(this.clock.nowMs());
  }

  /** How many resources are in direct mode, and how often resources entered and left it. */
  directCounters(): DirectCounters {
    return this.hold.direct.counters(this.clock.nowMs());
  }

  stats(): LockTableStats {
    return { grants: this.engine.locks.size, waiters: this.engine.waiting.size, resources: this.registry.count() };
  }

  private ownedLock(lockId: unknown, holder: unknown): Entry {
    const id = check.checkLockId(lockId);
    const h = check.checkHolder(holder);
    const e = this.engine.locks.get(id);
    if (e === undefined || e.holder.sessionId !== h.sessionId || e.holder.owner !== h.owner) {
      throw new NotFoundError('LOCK_NOT_FOUND', 'no such lock held by this holder', { lockId: id });
    }
    return e;
  }

  private checkNotWaiting(requestId: string): void {
    if (this.engine.waiting.has(requestId)) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', 'a request with this id is already waiting', { requestId });
    }
  }
}
