import { EventEmitter } from 'node:events';
import { Clock, TimerHandle } from '../common/clock';
import { Logger } from '../common/logger';

/**
 * After a failover the new leader grants nothing new until every session
 * it loaded from etcd has reclaimed what it holds (ReclaimComplete) or
 * expired (DESIGN §6, NFSv4.1's RECLAIM_COMPLETE). The window also closes
 * at the longest session TTL: by then etcd has expired every session that
 * did not come back.
 *
 * `minOpenMs`: the window stays open at least this long even when nobody is
 * awaited: an evicted holder (known only by its tombstone in etcd) may write
 * until its own deadline, and the new leader does not know its ranges.
 * Emits 'closed' once.
 */
export class RecoveryWindow extends EventEmitter {
  private readonly awaiting: Set<string>;
  private open: boolean;
  private timer: TimerHandle | undefined;
  private readonly startedMs: number;
  private readonly earliestCloseMs: number;

  constructor(sessionIds: string[], maxDurationMs: number, private readonly clock: Clock, private readonly logger: Logger, minOpenMs = 0) {
    super();
    this.awaiting = new Set(sessionIds);
    this.startedMs = clock.nowMs();
    this.earliestCloseMs = this.startedMs + Math.max(0, minOpenMs);
    this.open = this.awaiting.size > 0 || minOpenMs > 0;
    if (!this.open) return;
    this.logger.info('recovery window opened', { sessions: this.awaiting.size, minOpenMs });
    this.timer = clock.setTimer(Math.max(maxDurationMs, minOpenMs), () => this.close('timeout'));
    if (this.awaiting.size === 0) this.closeWhenAllowed('only evicted holders\' deadlines to wait out');
  }

  isOpen(): boolean {
    return this.open;
  }

  awaits(sessionId: string): boolean {
    return this.open && this.awaiting.has(sessionId);
  }

  /** The session reclaimed everything (or ended): stop waiting for it. */
  done(sessionId: string): void {
    if (!this.awaiting.delete(sessionId)) return;
    if (this.awaiting.size === 0) this.closeWhenAllowed('all sessions reclaimed or expired');
  }

  close(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.timer?.cancel();
    this.logger.info('recovery window closed', { reason, durationMs: Math.round(this.clock.nowMs() - this.startedMs), missing: this.awaiting.size });
    this.awaiting.clear();
    this.emit('closed');
  }

  private closeWhenAllowed(reason: string): void {
    const waitMs = this.earliestCloseMs - this.clock.nowMs();
    if (waitMs <= 0) return this.close(reason);
    this.timer?.cancel();
    this.timer = this.clock.setTimer(waitMs, () => this.close(`${reason}; evicted holders' deadlines passed`));
  }
}
