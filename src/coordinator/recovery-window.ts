import { EventEmitter } from 'node:events';
import { Clock, TimerHandle } from '../common/clock';
import { Logger } from '../common/logger';

/**
 * After a failover the new leader grants nothing new until every session
 * it loaded from etcd has reclaimed what it holds (ReclaimComplete) or
 * expired (DESIGN §6, NFSv4.1's RECLAIM_COMPLETE). The window also closes
 * at the longest session TTL: by then etcd has expired every session that
 * did not come back. Emits 'closed' once.
 */
export class RecoveryWindow extends EventEmitter {
  private readonly awaiting: Set<string>;
  private open: boolean;
  private readonly timer: TimerHandle | undefined;
  private readonly startedMs: number;

  constructor(sessionIds: string[], maxDurationMs: number, private readonly clock: Clock, private readonly logger: Logger) {
    super();
    this.awaiting = new Set(sessionIds);
    this.startedMs = clock.nowMs();
    this.open = this.awaiting.size > 0;
    if (this.open) {
      this.logger.info('recovery window opened', { sessions: this.awaiting.size });
      this.timer = clock.setTimer(maxDurationMs, () => this.close('timeout'));
    }
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
    if (this.awaiting.size === 0) this.close('all sessions reclaimed or expired');
  }

  close(reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.timer?.cancel();
    this.logger.info('recovery window closed', { reason, durationMs: Math.round(this.clock.nowMs() - this.startedMs), missing: this.awaiting.size });
    this.awaiting.clear();
    this.emit('closed');
  }
}
