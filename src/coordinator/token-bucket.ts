import type { Clock } from '../common/clock';

/**
 * A token bucket on an injected clock: `ratePerSecond` tokens a second,
 * at most `burst` saved up. take() is O(1) and arms no timer.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(private readonly clock: Clock, private readonly ratePerSecond: number, private readonly burst: number) {
    this.tokens = burst;
    this.lastMs = clock.nowMs();
  }

  /** Takes one token; false (and nothing taken) when the bucket is empty. */
  take(): boolean {
    const now = this.clock.nowMs();
    if (now > this.lastMs) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastMs) * this.ratePerSecond) / 1000);
      this.lastMs = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
