import type { Clock } from '../common/clock';
import type { WorkSlicer } from '../common/loop-slicer';
import { PacedClock } from '../common/paced-clock';
import type { Logger } from '../common/logger';
import { UnavailableError } from '../common/errors';
import { LockTable } from './lock-table/lock-table';
import type { LockTableEvent } from './lock-table/types';
import { RecoveryWindow } from './recovery-window';
import type { Session } from './session';
import type { SessionDirectory } from './session-directory';
import type { SessionEndReason } from './session-registry';
import { routeTableEvent } from './table-events';

export interface LeaderStateOptions {
  clock: Clock;
  logger: Logger;
  sessions: SessionDirectory;
  /** The epoch this leader won (etcd revision). */
  epoch: number;
  revokeDeadlineMs: number;
  /** Sessions loaded from the store: the recovery window waits for their reclaims. */
  restoredSessionIds: string[];
  /** Longest recovery window (the longest session TTL). */
  maxRecoveryMs: number;
  /** Evicted holders' remaining deadlines (tombstones): nothing is granted before they pass. */
  evictedWaitMs: number;
  /** Quota on one session's waiters per resource (WAITER_QUOTA); the lock table's default when absent. */
  maxWaitersPerResource?: number;
  /** A file in direct mode with one host for this long leaves it; 0 turns direct mode off (LockTableOptions.directAloneMs). */
  directAloneMs?: number;
  /** Paces the table's timers (through a PacedClock) and the freeing of large sessions (LockTableOptions.slicer). */
  slicer?: WorkSlicer;
  /** Asked before a table timer acts (LockTableOptions.mayAct): false once the leadership deadline passed. */
  mayAct?: () => boolean;
  /** Sees every lock-table event first (metrics); must not throw. */
  observe?: (e: LockTableEvent) => void;
}

/**
 * What a leader holds in memory (DESIGN §6): the lock table, its recovery
 * window, and the rules for freeing an ended session's grants. Built when
 * leadership is won, dropped when it is lost; the coordinator and the
 * protocol simulation both run it.
 */
export class LeaderState {
  readonly table: LockTable;
  readonly recovery: RecoveryWindow;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private closed = false;

  constructor(o: LeaderStateOptions) {
    this.clock = o.clock;
    this.logger = o.logger;
    this.table = new LockTable({
      clock: o.slicer ? new PacedClock(o.clock, o.slicer) : o.clock,
      epoch: o.epoch,
      revokeDeadlineMs: o.revokeDeadlineMs,
      maxWaitersPerResource: o.maxWaitersPerResource,
      directAloneMs: o.directAloneMs,
      slicer: o.slicer,
      mayAct: o.mayAct,
      // A deposed leader's table may still fire timers: what it decides reaches nobody.
      onEvent: (e) => {
        if (this.closed) return;
        o.observe?.(e);
        routeTableEvent(e, o.sessions, o.clock, o.revokeDeadlineMs, o.logger);
      },
    });
    this.recovery = new RecoveryWindow(o.restoredSessionIds, o.maxRecoveryMs, o.clock, o.logger.child({ component: 'recovery' }), o.evictedWaitMs);
  }

  /** Throws UNAVAILABLE(RECOVERING) while the recovery window is open. */
  assertCanGrant(coordinatorId: string): void {
    if (this.recovery.isOpen()) {
      throw new UnavailableError('RECOVERING', 'the new leader is waiting for clients to reclaim their locks', { coordinatorId });
    }
  }

  /**
   * An evicted holder may not know yet (paused, partitioned): it trusts its
   * grants until its own deadline, at most its last confirmed heartbeat +
   * TTL. Its grants keep blocking until then, so nobody else gets its
   * ranges while it could still write (DESIGN §5, §8.5); its waiters go at
   * once, since nothing may be granted to it any more. An expired session
   * is past that point already, and a closed one promised to stop.
   */
  freeGrantsOf(session: Session, reason: SessionEndReason, stillLeading: () => boolean): void {
    this.recovery.done(session.id);
    const waitMs = reason === 'SESSION_EVICTED' ? session.lastConfirmedMs + session.ttlMs - this.clock.nowMs() : 0;
    if (waitMs <= 0) return this.table.releaseSession(session.id);
    this.table.dropWaiters(session.id);
    this.logger.info('evicted session keeps blocking until its lease would have run out', { session: session.id, waitMs: Math.round(waitMs) });
    this.clock.setTimer(waitMs, () => { if (stillLeading()) this.table.releaseSession(session.id); });
  }

  close(reason: string): void {
    this.closed = true;
    this.recovery.close(reason);
  }
}
