import type { WorkSlicer } from '../common/loop-slicer';

/** Messages a stream may have handled in one slice and still go on past its budget. */
const LIGHT_STREAM_MESSAGES = 4;
/** Messages of one stream waiting for later slices before it is paused (HTTP/2 flow control then holds the client back). */
const MAX_BACKLOG = 50_000;

/** What the pacer needs of a stream. */
export interface PacedInput<M> {
  /** Handles one message now. */
  handle(m: M): void;
  /** False once the stream is done: what still waits is dropped. */
  isOpen(): boolean;
  pause(): void;
  resume(): void;
}

/**
 * Hands a stream's messages over now, or — once the stream has had its
 * share of a slice that is used up — in a later slice, in arrival order,
 * so a flood of requests never holds the event loop for long (issue 15).
 * A stream sending now and then is never held back by a flood on another
 * one. Waiting messages stay in memory and grpc-js keeps reading: pausing
 * the call at every slice instead left a replica e2e test hanging
 * (docs/lock-table.md); the call is paused only past MAX_BACKLOG.
 * Without a slicer every message is handled at once.
 */
export class InboundPacer<M> {
  private slice = -1;
  private messagesInSlice = 0;
  private backlog: M[] = [];
  private head = 0;
  private scheduled = false;
  private paused = false;

  constructor(private readonly slicer: WorkSlicer | undefined, private readonly input: PacedInput<M>) {}

  take(m: M): void {
    if (this.head === this.backlog.length && !this.overShare()) return this.input.handle(m);
    this.backlog.push(m);
    if (this.backlog.length - this.head > MAX_BACKLOG && !this.paused) {
      this.paused = true;
      this.input.pause();
    }
    this.schedule();
  }

  /** True when the slice is used up and this stream already sent several messages in it. */
  private overShare(): boolean {
    const slicer = this.slicer;
    if (slicer === undefined) return false;
    const over = slicer.overBudget();
    if (this.slice !== slicer.slice) {
      this.slice = slicer.slice;
      this.messagesInSlice = 0;
    }
    return ++this.messagesInSlice > LIGHT_STREAM_MESSAGES && over;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.slicer!.submit(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  /** At least one waiting message per slice, more while the slice lasts. */
  private drain(): void {
    let first = true;
    while (this.head < this.backlog.length) {
      if (!this.input.isOpen()) break;
      if (!first && this.slicer!.overBudget()) return this.schedule();
      first = false;
      const m = this.backlog[this.head];
      this.backlog[this.head++] = undefined as M;
      this.input.handle(m);
    }
    this.backlog = [];
    this.head = 0;
    if (this.paused) {
      this.paused = false;
      this.input.resume();
    }
  }
}
