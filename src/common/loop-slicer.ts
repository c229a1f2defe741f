/**
 * Keeps the event loop responsive under bursts of work (issue 15): work
 * that can wait is done in slices of at most sliceMs of CPU time, and the
 * rest waits for the next slice, after pending I/O (setImmediate), so
 * timers — the leader's etcd keepalive among them — and other clients'
 * messages are never held up by more than a slice.
 *
 * A slice opens with the first question asked in a macrotask and closes
 * when the loop comes round (one setImmediate per slice, not per item).
 */
export interface WorkSlicer {
  /** Runs fn now while this slice has time left, else in a later slice (first submitted, first run). */
  submit(fn: () => void): void;
  /** True when this slice has used its time: long work should submit the rest of itself. */
  overBudget(): boolean;
  /** Numbers the slices (read after overBudget(), which opens one): tells work whether it already ran in this one. */
  readonly slice: number;
}

/** Everything at once, in the caller's turn (unit tests, the lock-table model, simulations). */
export const INLINE_SLICER: WorkSlicer = {
  submit: (fn) => fn(),
  overBudget: () => false,
  slice: 0,
};

/**
 * Default time of one slice. A request of another client waits for the
 * rest of the slice under way (plus whatever else the loop turn holds),
 * so this bounds the latency a flood adds for everyone else: with 3 ms
 * slices a well-behaved client's samples beside the hostile client of
 * issue 15 (P10) took 4–17 ms while 10,000 acquires arrived
 * (docs/lock-table.md). A loop turn costs microseconds, so throughput
 * loses little (P3 on 1 ms slices: 29,000 grants/s pipelined).
 */
export const DEFAULT_SLICE_MS = 1;

export interface LoopSlicerOptions {
  sliceMs?: number;
  /** Measures CPU spent (a measurement, not a deadline: it never decides an outcome); default performance.now. */
  now?: () => number;
  /** Runs fn after pending I/O; default setImmediate. */
  defer?: (fn: () => void) => void;
  /** Called with an error a submitted function threw (the rest still runs). */
  onError?: (e: unknown) => void;
}

export class LoopSlicer implements WorkSlicer {
  private readonly sliceMs: number;
  private readonly now: () => number;
  private readonly defer: (fn: () => void) => void;
  private readonly onError: (e: unknown) => void;
  private queue: Array<() => void> = [];
  private head = 0;
  private sliceOpen = false;
  slice = 0;
  private sliceStartMs = 0;
  private draining = false;

  constructor(o: LoopSlicerOptions = {}) {
    this.sliceMs = o.sliceMs ?? DEFAULT_SLICE_MS;
    if (!(this.sliceMs > 0)) throw new RangeError(`sliceMs must be positive, got ${this.sliceMs}`);
    this.now = o.now ?? (() => performance.now());
    this.defer = o.defer ?? ((fn) => { setImmediate(fn); });
    this.onError = o.onError ?? (() => undefined);
  }

  /** Work submitted and not run yet. */
  get backlog(): number {
    return this.queue.length - this.head;
  }

  overBudget(): boolean {
    if (!this.sliceOpen) {
      this.sliceOpen = true;
      this.slice++;
      this.sliceStartMs = this.now();
      this.defer(() => this.nextSlice());
      return false;
    }
    return this.now() - this.sliceStartMs >= this.sliceMs;
  }

  submit(fn: () => void): void {
    this.queue.push(fn);
    this.drain();
  }

  private nextSlice(): void {
    this.sliceOpen = false;
    if (this.backlog > 0) this.drain();
  }

  private drain(): void {
    if (this.draining) return; // a submit from inside submitted work: the running drain takes it in order
    this.draining = true;
    try {
      while (this.backlog > 0 && !this.overBudget()) {
        const fn = this.queue[this.head];
        this.queue[this.head++] = NOOP;
        try {
          fn();
        } catch (e) {
          this.onError(e);
        }
      }
      if (this.head > 1024 && this.head * 2 >= this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    } finally {
      this.draining = false;
    }
  }
}

const NOOP = (): void => undefined;
