import type { Clock } from '../../src/common/clock';
import type { Logger } from '../../src/common/logger';
import { LeaderState } from '../../src/coordinator/leader-state';
import { LockRequests } from '../../src/coordinator/lock-requests';
import type { LockTable } from '../../src/coordinator/lock-table/lock-table';
import type { Session } from '../../src/coordinator/session';
import type { SessionEndReason } from '../../src/coordinator/session-registry';
import { SessionStream } from '../../src/coordinator/session-stream';
import type { SimScheduler } from './scheduler';
import type { SimLink } from './sim-network';
import { SimSessions } from './sim-sessions';

/**
 * The coordinator as the simulation runs it: the real SessionStream,
 * LockRequests and LeaderState (lock table, recovery window, eviction
 * rules) over simulated links, with SimSessions in place of etcd.
 * failover() is a new leader with a larger epoch: streams end with
 * NOT_LEADER, sessions are restored from the leases, clients reclaim.
 */
export class SimCoordinator {
  readonly sessions: SimSessions;
  leader: LeaderState;
  epoch = 1;
  private readonly requests: LockRequests;

  constructor(private readonly sched: SimScheduler, private readonly clock: Clock, private readonly logger: Logger, private readonly revokeDeadlineMs: number) {
    this.sessions = new SimSessions(sched, clock);
    this.leader = this.newLeader([]);
    this.sessions.on('ended', (session: Session, reason: SessionEndReason) => {
      session.detachStream?.(reason, reason === 'SESSION_EVICTED' ? 'session evicted' : 'session lease expired');
      const leader = this.leader;
      leader.freeGrantsOf(session, reason, () => this.leader === leader);
    });
    this.requests = new LockRequests({
      table: () => this.leader.table,
      clock,
      assertCanGrant: () => this.leader.assertCanGrant('sim'),
      recovering: (id) => this.leader.recovery.awaits(id),
    });
  }

  get table(): LockTable {
    return this.leader.table;
  }

  accept(link: SimLink): void {
    new SessionStream(link.call as never, {
      registry: this.sessions,
      requests: this.requests,
      logger: this.logger,
      coordinatorId: 'sim',
      epoch: () => this.epoch,
      recovery: () => this.leader.recovery,
      assertCanServe: () => undefined,
      closeSession: async (session) => {
        this.leader.table.releaseSession(session.id);
        await this.sessions.evict(session.id, 'SESSION_CLOSED').catch(() => undefined);
      },
    });
  }

  failover(): void {
    this.leader.close('leadership lost');
    for (const s of this.sessions.forgetAll()) s.detachStream?.('NOT_LEADER', 'this coordinator lost its leadership');
    this.epoch++;
    this.leader = this.newLeader(this.sessions.restore());
  }

  private newLeader(restored: string[]): LeaderState {
    return new LeaderState({
      clock: this.clock,
      logger: this.logger,
      sessions: this.sessions,
      epoch: this.epoch,
      revokeDeadlineMs: this.revokeDeadlineMs,
      restoredSessionIds: restored,
      maxRecoveryMs: 300_000,
      evictedWaitMs: this.sessions.tombstoneWaitMs(),
    });
  }
}

