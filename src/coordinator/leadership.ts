import type { HealthImplementation } from 'grpc-health-check';
import type { Clock } from '../common/clock';
import type { Logger } from '../common/logger';
import type { LoopSlicer } from '../common/loop-slicer';
import type { CoordinatorMetrics } from '../common/metrics/coordinator-metrics';
import { timeRecovery } from './coordinator-ops';
import type { Election } from './election';
import { LeaderState } from './leader-state';
import { loadTakeover } from './leader-takeover';
import { MAX_TTL_MS, SessionRegistry } from './session-registry';

/** What leading needs from the coordinator. */
export interface LeadershipDeps {
  election: Election;
  registry: SessionRegistry;
  health: HealthImplementation;
  clock: Clock;
  logger: Logger;
  metrics(): CoordinatorMetrics | undefined;
  /** A holder that has not answered a revoke by then is evicted (if someone waits). */
  revokeDeadlineMs: number;
  maxWaitersPerResource: number;
  directAloneMs: number | undefined;
  slicer: LoopSlicer;
  /** The coordinator is stopping: no more campaigns or takeovers. */
  stopped(): boolean;
}

/**
 * The coordinator's leadership cycle: campaign, take over when elected
 * (one takeover at a time), lead until the election is lost, step down,
 * campaign again. `current` is the leader state of the reign under way.
 */
export class Leadership {
  current: LeaderState | undefined;
  /** The takeover under way or last finished: takeovers run one at a time (becomeLeader). */
  private takeover: Promise<void> = Promise.resolve();
  /** Test-only ($COHERD_TEST_TAKEOVER_DELAY_MS): the first takeover waits this long after loading the sessions. */
  private takeoverDelayMs = Number(process.env.COHERD_TEST_TAKEOVER_DELAY_MS ?? 0) || 0;

  constructor(private readonly d: LeadershipDeps) {}

  /** Campaigns, leads until leadership is lost, and campaigns again. */
  async leadLoop(): Promise<void> {
    await this.d.election.campaign();
    if (this.d.stopped()) return;
    await this.becomeLeader();
  }

  private becomeLeader(): Promise<void> {
    this.takeover = this.takeover.then(() => this.takeOver()).catch((e: Error) => { this.d.logger.error('taking over failed', { error: e.message }); });
    return this.takeover;
  }

  /** Installs the leader state of the reign just won (leader-takeover.ts), unless that reign ended first. */
  private async takeOver(): Promise<void> {
    const { d } = this;
    if (this.current || d.stopped()) return;
    const delayMs = this.takeoverDelayMs;
    this.takeoverDelayMs = 0;
    const taken = await loadTakeover(d.election.epoch, {
      registry: d.registry,
      reignLasts: (epoch) => !d.stopped() && d.election.isLeader() && d.election.epoch === epoch,
      clock: d.clock,
      logger: d.logger,
      delayMs,
    });
    if (!taken) return;
    const { epoch, restored, evictedWaitMs } = taken;
    this.current = new LeaderState({
      clock: d.clock,
      logger: d.logger,
      sessions: d.registry,
      epoch,
      revokeDeadlineMs: d.revokeDeadlineMs,
      restoredSessionIds: restored,
      maxRecoveryMs: MAX_TTL_MS,
      evictedWaitMs,
      maxWaitersPerResource: d.maxWaitersPerResource,
      directAloneMs: d.directAloneMs,
      slicer: d.slicer,
      mayAct: () => d.election.stillLeading(),
      observe: d.metrics() && ((e) => d.metrics()?.onTableEvent(e)),
    });
    timeRecovery(d.metrics(), this.current.recovery, d.clock);
    d.health.setStatus('coherd.v1.Session', 'SERVING');
  }

  /**
   * Leadership lost (deadline passed or etcd said so): grant nothing more,
   * drop the soft state and end every stream with UNAVAILABLE so clients
   * go find the leader; sessions stay in etcd for it. Then campaign again.
   */
  stepDown(): void {
    const { d } = this;
    d.health.setStatus('coherd.v1.Session', 'NOT_SERVING');
    this.current?.close('leadership lost');
    this.current = undefined;
    for (const s of d.registry.forgetAll()) s.detachStream?.('NOT_LEADER', 'this coordinator lost its leadership');
    void d.registry.close();
    if (d.stopped()) return;
    d.logger.error('stepped down: leadership lost; no more grants from this coordinator');
    void this.leadLoop();
  }
}
