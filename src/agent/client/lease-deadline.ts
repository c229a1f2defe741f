import { Clock, TimerHandle } from '../../common/clock';

/**
 * The client's own view of its lease (DESIGN §5): the deadline is the send
 * time of the last heartbeat the coordinator acknowledged (after etcd
 * confirmed it) + TTL − a clock-drift margin. Past it the client must act
 * as if it held nothing, whatever the coordinator may still think.
 */
export class LeaseDeadline {
  private deadlineMs = 0;
  private timer: TimerHandle | undefined;
  /** While a reclaim runs: the best deadline acknowledged meanwhile, applied when it ends. */
  private heldBackMs: number | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly driftMarginMs: number,
    /** Called once the deadline passes without a newer acknowledgement. */
    private readonly onPassed: () => void,
  ) {}

  /** Local clock ms of the deadline; 0 before the session started. */
  get ms(): number {
    return this.deadlineMs;
  }

  /** A session was opened just now with this TTL: it is good for one TTL from the open request. */
  start(sentMs: number, ttlMs: number): void {
    this.heldBackMs = undefined;
    this.deadlineMs = sentMs + ttlMs - this.driftMarginMs;
    this.arm();
  }

  /** A heartbeat sent at sentMs was acknowledged with this TTL; older acks never move the deadline back. */
  confirmed(sentMs: number, ttlMs: number): void {
    const deadline = sentMs + ttlMs - this.driftMarginMs;
    if (this.heldBackMs !== undefined) {
      this.heldBackMs = Math.max(this.heldBackMs, deadline);
      return;
    }
    this.extendTo(deadline);
  }

  /**
   * A new leader acknowledges heartbeats before it has accepted the grants
   * being reclaimed, and may refuse them (its recovery window closed, the
   * session expired in etcd meanwhile) and grant them to someone else: its
   * acknowledgements say nothing about them. So while a reclaim runs the
   * deadline stays where the previous leader left it; the acknowledgements
   * count once `reclaimed()` says the grants are the new leader's too.
   */
  reclaiming(): void {
    this.heldBackMs ??= 0;
  }

  reclaimed(): void {
    const held = this.heldBackMs;
    this.heldBackMs = undefined;
    if (held !== undefined) this.extendTo(held);
  }

  private extendTo(deadline: number): void {
    if (deadline <= this.deadlineMs) return;
    this.deadlineMs = deadline;
    this.arm();
  }

  passed(): boolean {
    return this.deadlineMs > 0 && this.clock.nowMs() >= this.deadlineMs;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = this.clock.setTimer(this.deadlineMs - this.clock.nowMs(), () => {
      if (this.passed()) this.onPassed();
    });
  }
}
