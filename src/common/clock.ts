import { TimerHeap } from './timer-heap';

/**
 * Time source for everything where time decides something (leases,
 * deadlines, hold times, backoff). Production uses SystemClock; unit tests
 * drive a FakeClock so no test sleeps.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds on a monotonic scale (not wall time). */
  nowMs(): number;
  /** Runs fn once after delayMs; cancel() prevents it. */
  setTimer(delayMs: number, fn: () => void): TimerHandle;
}

/** Resolves after `ms` on `clock` (never rejects; there is nothing to cancel). */
export function sleepOn(clock: Clock, ms: number): Promise<void> {
  return new Promise<void>((resolve) => clock.setTimer(ms, resolve));
}

/** The longest delay Node's setTimeout honours; a longer one fires after 1 ms (TimeoutOverflowWarning). */
export const MAX_TIMER_CHUNK_MS = 2 ** 31 - 1;

/** The host timer functions SystemClock arms (injectable so the chunking is tested without waiting weeks). */
export interface HostTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const NODE_TIMERS: HostTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export class SystemClock implements Clock {
  constructor(private readonly timers: HostTimers = NODE_TIMERS) {}

  nowMs(): number {
    return performance.now();
  }

  /**
   * Any delay is waited for correctly: one beyond MAX_TIMER_CHUNK_MS is
   * armed in chunks, each re-armed for what is left of the delay measured
   * on nowMs() (so late chunks do not add up); Infinity never fires; NaN
   * and negative delays fire at once.
   */
  setTimer(delayMs: number, fn: () => void): TimerHandle {
    // Not unref'd: a pending deadline or dial timeout must keep the process alive.
    const delay = Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs);
    const dueMs = this.nowMs() + delay;
    let handle: unknown;
    let cancelled = false;
    const arm = (ms: number): void => {
      handle = this.timers.setTimeout(() => {
        if (cancelled) return;
        const leftMs = dueMs - this.nowMs();
        if (leftMs > 0 && ms === MAX_TIMER_CHUNK_MS) arm(Math.min(leftMs, MAX_TIMER_CHUNK_MS));
        else fn();
      }, ms);
    };
    arm(Math.min(delay, MAX_TIMER_CHUNK_MS));
    return { cancel: () => { cancelled = true; this.timers.clearTimeout(handle); } };
  }
}

/** A clock that only moves when advance() is called. Timers sit in a binary heap: 10,000 of them fire in O(n log n). */
export class FakeClock implements Clock {
  private current: number;
  private readonly timers = new TimerHeap();

  constructor(startMs = 0) {
    this.current = startMs;
  }

  nowMs(): number {
    return this.current;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer = this.timers.add(this.current + Math.max(0, delayMs), fn);
    return { cancel: () => this.timers.cancel(timer) };
  }

  /** Moves time forward, firing due timers in order of due time. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (let next = this.timers.takeDue(target); next !== undefined; next = this.timers.takeDue(target)) {
      this.current = next.dueMs;
      next.fn();
    }
    this.current = target;
  }

  pendingTimers(): number {
    return this.timers.size;
  }
}
