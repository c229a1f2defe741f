/** A timer waiting in a TimerHeap; `cancelled` also marks one that fired. */
export interface HeapTimer {
  readonly dueMs: number;
  readonly order: number;
  readonly fn: () => void;
  cancelled: boolean;
}

function earlier(a: HeapTimer, b: HeapTimer): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order);
}

/**
 * Timers in a binary heap by due time, then by the order they were set
 * (FakeClock, PacedClock): 10,000 timers due together cost O(n log n).
 * Cancelled timers stay until they reach the top, or until they outnumber
 * the live ones (then they are dropped all at once).
 */
export class TimerHeap {
  private heap: HeapTimer[] = [];
  private order = 0;
  private live = 0;

  /** Timers added and neither taken nor cancelled. */
  get size(): number {
    return this.live;
  }

  add(dueMs: number, fn: () => void): HeapTimer {
    const t: HeapTimer = { dueMs, order: this.order++, fn, cancelled: false };
    const h = this.heap;
    h.push(t);
    for (let i = h.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (!earlier(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
    this.live++;
    return t;
  }

  /** The earliest live timer, left in place. */
  peek(): HeapTimer | undefined {
    while (this.heap.length > 0 && this.heap[0].cancelled) this.pop();
    return this.heap[0];
  }

  /** Removes and marks the earliest live timer (the caller runs it), if it is due by `nowMs`. */
  takeDue(nowMs: number): HeapTimer | undefined {
    const next = this.peek();
    if (next === undefined || next.dueMs > nowMs) return undefined;
    this.pop();
    this.cancel(next);
    return next;
  }

  cancel(t: HeapTimer): void {
    if (t.cancelled) return;
    t.cancelled = true;
    this.live--;
    if (this.heap.length > 64 && this.live * 2 < this.heap.length) this.compact();
  }

  private compact(): void {
    this.heap = this.heap.filter((t) => !t.cancelled);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as HeapTimer;
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
