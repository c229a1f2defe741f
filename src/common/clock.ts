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

export class SystemClock implements Clock {
  nowMs(): number {
    return performance.now();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    // Not unref'd: a pending deadline or dial timeout must keep the process alive.
    const t = setTimeout(fn, Math.max(0, delayMs));
    return { cancel: () => clearTimeout(t) };
  }
}

interface FakeTimer {
  dueMs: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when advance() is called. */
export class FakeClock implements Clock {
  private current: number;
  private timers: FakeTimer[] = [];
  private order = 0;

  constructor(startMs = 0) {
    this.current = startMs;
  }

  nowMs(): number {
    return this.current;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer: FakeTimer = { dueMs: this.current + Math.max(0, delayMs), order: this.order++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => { timer.cancelled = true; } };
  }

  /** Moves time forward, firing due timers in order of due time. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.nextDue(target);
      if (!next) break;
      this.current = next.dueMs;
      next.cancelled = true;
      next.fn();
    }
    this.current = target;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  private nextDue(limitMs: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.timers) {
      if (t.cancelled || t.dueMs > limitMs) continue;
      if (!best || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.order < best.order)) best = t;
    }
    return best;
  }
}
