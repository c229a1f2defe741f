import type { Clock, TimerHandle } from './clock';
import type { WorkSlicer } from './loop-slicer';
import { TimerHeap } from './timer-heap';

/**
 * A Clock for code that may have thousands of timers due at once (the
 * lock table: 10,000 waiters sharing one timeout, issue 15). Its timers
 * sit in one binary heap behind a single timer of the base clock, and due
 * ones run in the slicer's slices, in order of due time, so they cost the
 * loop at most a slice at a time instead of one long timers phase. A
 * timer therefore fires no earlier than asked, and late by at most the
 * backlog ahead of it.
 */
export class PacedClock implements Clock {
  private readonly timers = new TimerHeap();
  private armed: { handle: TimerHandle; dueMs: number } | null = null;
  private running = false;
  /** A fire() waits in the slicer: it arms the base timer when it is done. */
  private submitted = false;

  constructor(private readonly base: Clock, private readonly slicer: WorkSlicer) {}

  nowMs(): number {
    return this.base.nowMs();
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const delay = Number.isNaN(delayMs) ? 0 : Math.max(0, delayMs);
    const timer = this.timers.add(this.base.nowMs() + delay, fn);
    if (!this.running && !this.submitted && this.timers.peek() === timer) this.arm();
    return { cancel: () => this.timers.cancel(timer) };
  }

  /** Timers set and neither fired nor cancelled. */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** Runs due timers while the slice lasts; the rest in a later slice. */
  private fire = (): void => {
    this.armed?.handle.cancel();
    this.armed = null;
    this.submitted = false;
    this.running = true;
    try {
      for (;;) {
        const next = this.timers.peek();
        if (next === undefined || next.dueMs > this.base.nowMs()) break;
        if (this.slicer.overBudget()) {
          this.submitted = true;
          this.slicer.submit(this.fire);
          return;
        }
        this.timers.takeDue(next.dueMs);
        next.fn();
      }
    } finally {
      this.running = false;
      // Also after a timer threw: the others still fire.
      if (!this.submitted) this.arm();
    }
  };

  /** One base timer, for the earliest live timer (re-armed only when that changes). */
  private arm(): void {
    const next = this.timers.peek();
    if (this.armed !== null) {
      if (next !== undefined && this.armed.dueMs <= next.dueMs) return;
      this.armed.handle.cancel();
      this.armed = null;
    }
    if (next === undefined) return;
    this.armed = { dueMs: next.dueMs, handle: this.base.setTimer(next.dueMs - this.base.nowMs(), this.fire) };
  }
}
