import type { Clock, TimerHandle } from '../common/clock';

/** How long a Connect stream may sit without the client doing anything useful. */
export interface StreamLimits {
  /** A new stream must send open or resume within this long. Default 10 s. */
  firstMessageMs: number;
  /**
   * A stream carrying a session is finished (UNAVAILABLE, the client resumes)
   * after this long without any message from the client. A live client
   * heartbeats every TTL/4, so the bound is at least twice the session's TTL.
   * Default 60 s.
   */
  idleMs: number;
  /** After the client half-closed, the server finishes its side this long later (replies in flight still go out). Default 1 s. */
  halfClosedGraceMs: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { firstMessageMs: 10_000, idleMs: 60_000, halfClosedGraceMs: 1000 };

/**
 * The idle and half-close bounds of one stream. O(1) per message: a message
 * only records the time; one timer checks the bound when it could have
 * passed and re-arms for the rest otherwise.
 */
export class StreamWatchdog {
  private lastMessageMs: number;
  private boundMs: number;
  private idleTimer: TimerHandle | undefined;
  private graceTimer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly clock: Clock, private readonly limits: StreamLimits, private readonly onIdle: (idleMs: number) => void) {
    this.lastMessageMs = clock.nowMs();
    this.boundMs = limits.firstMessageMs;
    this.arm(this.boundMs);
  }

  /** A message arrived. */
  touch(): void {
    this.lastMessageMs = this.clock.nowMs();
  }

  /** The stream now carries a session of this TTL: the idle bound applies from now. */
  attached(ttlMs: number): void {
    this.touch();
    this.boundMs = Math.max(this.limits.idleMs, 2 * ttlMs);
  }

  /** The client half-closed: `finish` runs after the grace period (unless stopped first). */
  halfClosed(finish: () => void): void {
    if (this.stopped || this.graceTimer) return;
    this.graceTimer = this.clock.setTimer(this.limits.halfClosedGraceMs, () => {
      this.graceTimer = undefined;
      if (!this.stopped) finish();
    });
  }

  stop(): void {
    this.stopped = true;
    this.idleTimer?.cancel();
    this.graceTimer?.cancel();
    this.idleTimer = undefined;
    this.graceTimer = undefined;
  }

  private arm(delayMs: number): void {
    this.idleTimer = this.clock.setTimer(delayMs, () => {
      this.idleTimer = undefined;
      if (this.stopped) return;
      const idleMs = this.clock.nowMs() - this.lastMessageMs;
      if (idleMs >= this.boundMs) this.onIdle(idleMs);
      else this.arm(this.boundMs - idleMs);
    });
  }
}
