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

interface FakeTimer {
  dueMs: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

function earlier(a: FakeTimer, b: FakeTimer): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order);
}

/** A clock that only moves when advance() is called. Timers sit in a binary heap: 10,000 of them fire in O(n log n). */
export class FakeClock implements Clock {
  private current: number;
  private heap: FakeTimer[] = [];
  private order = 0;
  private live = 0;

  constructor(startMs = 0) {
    this.current = startMs;
  }

  nowMs(): number {
    return this.current;
  }

  setTimer(delayMs: number, fn: () => void): TimerHandle {
    const timer: FakeTimer = { dueMs: this.current + Math.max(0, delayMs), order: this.order++, fn, cancelled: false };
    this.push(timer);
    this.live++;
    return { cancel: () => this.cancel(timer) };
  }

  /** Moves time forward, firing due timers in order of due time. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      while (this.heap.length > 0 && this.heap[0].cancelled) this.pop();
      const next = this.heap[0];
      if (next === undefined || next.dueMs > target) break;
      this.pop();
      this.current = next.dueMs;
      this.cancel(next);
      next.fn();
    }
    this.current = target;
  }

  pendingTimers(): number {
    return this.live;
  }

  private cancel(t: FakeTimer): void {
    if (t.cancelled) return;
    t.cancelled = true;
    this.live--;
  }

  private push(t: FakeTimer): void {
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
    const last = h.pop() as FakeTimer;
    if (h.length === 0) return;
    h[0] = last;
    for (let i = 0; ;) {
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
