import type { Clock, TimerHandle } from './clock';
import type { WorkSlicer } from './loop-slicer';

interface PacedTimer {
  dueMs: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

function earlier(a: PacedTimer, b: PacedTimer): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order);
}

/**
 * A Clock for code that may have thousands of timers due at once (the
 * lock table: 10,000 waiters sharing one timeout, issue 15). Its timers
 * sit in one binary heap behind a single timer of the base clock, and due
 * ones run in the slicer's slices, in order of due time, so they cost the
 * loop at most a slice at a time instead of one long timers phase. A
 * timer therefore fires no earlier than asked, and late by at most the
 * backlog ahead of it. Cancelled timers are dropped when they reach the
 * top, or all at once when they outnumber the live ones.
 */
export class PacedClock implements Clock {
  private heap: PacedTimer[] = [];
  private order = 0;
  private live = 0;
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
    const timer: PacedTimer = { dueMs: this.base.nowMs() + delay, order: this.order++, fn, cancelled: false };
    this.push(timer);
    this.live++;
    if (!this.running && !this.submitted && this.heap[0] === timer) this.arm();
    return { cancel: () => this.cancel(timer) };
  }

  /** Timers set and neither fired nor cancelled. */
  pendingTimers(): number {
    return this.live;
  }

  private cancel(t: PacedTimer): void {
    if (t.cancelled) return;
    t.cancelled = true;
    this.live--;
    if (this.heap.length > 64 && this.live * 2 < this.heap.length) this.compact();
  }

  /** Runs due timers while the slice lasts; the rest in a later slice. */
  private fire = (): void => {
    this.armed?.handle.cancel();
    this.armed = null;
    this.submitted = false;
    this.running = true;
    try {
      for (;;) {
        this.dropCancelledTop();
        const next = this.heap[0];
        if (next === undefined || next.dueMs > this.base.nowMs()) break;
        if (this.slicer.overBudget()) {
          this.submitted = true;
          this.slicer.submit(this.fire);
          return;
        }
        this.pop();
        next.cancelled = true;
        this.live--;
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
    this.dropCancelledTop();
    const next = this.heap[0];
    if (this.armed !== null) {
      if (next !== undefined && this.armed.dueMs <= next.dueMs) return;
      this.armed.handle.cancel();
      this.armed = null;
    }
    if (next === undefined) return;
    this.armed = { dueMs: next.dueMs, handle: this.base.setTimer(next.dueMs - this.base.nowMs(), this.fire) };
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop();
  }

  private compact(): void {
    this.heap = this.heap.filter((t) => !t.cancelled);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private push(t: PacedTimer): void {
    const h = this.heap;
    h.push(t);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!earlier(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as PacedTimer;
    if (h.length === 0) return;
    h[0] = last;
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    const h = this.heap;
    for (let i = start; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && earlier(h[l], h[m])) m = l;
      if (r < h.length && earlier(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
