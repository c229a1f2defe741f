import { ResourceExhaustedError } from '../common/errors';

export interface OutboundWriter {
  /** false when the transport buffer is full: wait for drain. */
  write(message: object): boolean;
  onDrain(fn: () => void): void;
}

/**
 * Server → client messages of one session, numbered by `seq`. Messages stay
 * here until the client acks them, so a resumed stream replays exactly what
 * was not acked (DESIGN §4). Writes respect transport backpressure.
 */
export class Outbox {
  private readonly buffer: Array<{ seq: number } & object> = [];
  private head = 0;
  private nextSeq = 1;
  private sentSeq = 0;
  private writer: OutboundWriter | undefined;
  private waitingForDrain = false;
  /** Unacked replies that open a stream (SessionOpened): a later stream gets its own, so they are never replayed. */
  private openingSeqs: number[] = [];
  private readonly superseded = new Set<number>();

  constructor(private readonly maxUnacked = 100_000) {}

  get unacked(): number {
    return this.buffer.length - this.head;
  }

  /** Takes ownership of `message` (it gets its `seq` in place: no copy per message). */
  push(message: object): number {
    if (this.unacked >= this.maxUnacked) {
      throw new ResourceExhaustedError('QUEUE_FULL', 'client does not ack server messages', { unacked: this.unacked });
    }
    const seq = this.nextSeq++;
    const numbered = message as { seq: number };
    numbered.seq = seq;
    this.buffer.push(numbered);
    this.flush();
    return seq;
  }

  ack(seq: number): void {
    if (this.superseded.size > 0) for (const s of this.superseded) if (s <= seq) this.superseded.delete(s);
    while (this.head < this.buffer.length && this.buffer[this.head].seq <= seq) this.head++;
    // Acked messages are dropped at once when nothing is pending (the common
    // case), else once they are half the buffer: a million idle sessions must
    // not each keep their history (P8), and splicing stays amortised O(1).
    if (this.head === this.buffer.length) {
      this.buffer.length = 0;
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.buffer.length) {
      this.buffer.splice(0, this.head);
      this.head = 0;
    }
    if (this.sentSeq < seq) this.sentSeq = Math.min(seq, this.nextSeq - 1);
  }

  /**
   * A session restored by a new leader continues the numbering its client
   * knows, so that the client does not take new messages for replays.
   */
  continueAfter(clientSeq: number): void {
    if (this.unacked === 0 && clientSeq >= this.nextSeq) {
      this.nextSeq = clientSeq + 1;
      this.sentSeq = clientSeq;
    }
  }

  /**
   * The reply that opens a stream (SessionOpened). It is replaced by the
   * next stream's own, so a resumed stream never first receives an older
   * SessionOpened its client never acknowledged.
   */
  pushOpening(message: object): number {
    const seq = this.push(message);
    this.openingSeqs.push(seq);
    return seq;
  }

  /**
   * Attaches a new stream: everything after ackedSeq is (re)sent, except
   * earlier streams' SessionOpened replies (the caller pushes a new one).
   */
  attach(writer: OutboundWriter, ackedSeq: number): void {
    for (const s of this.openingSeqs) this.superseded.add(s);
    this.openingSeqs = [];
    this.ack(ackedSeq);
    this.writer = writer;
    this.waitingForDrain = false;
    this.sentSeq = this.head < this.buffer.length ? this.buffer[this.head].seq - 1 : this.nextSeq - 1;
    this.flush();
  }

  detach(writer?: OutboundWriter): void {
    if (!writer || this.writer === writer) this.writer = undefined;
  }

  private flush(): void {
    const writer = this.writer;
    if (!writer || this.waitingForDrain) return;
    if (this.head >= this.buffer.length) return;
    // seqs in the buffer are contiguous, so the next unsent one is found by arithmetic.
    let i = Math.max(this.head, this.head + (this.sentSeq + 1 - this.buffer[this.head].seq));
    for (; i < this.buffer.length; i++) {
      const msg = this.buffer[i];
      this.sentSeq = msg.seq;
      if (this.superseded.size > 0 && this.superseded.has(msg.seq)) continue;
      if (!writer.write(msg)) {
        this.waitingForDrain = true;
        writer.onDrain(() => {
          this.waitingForDrain = false;
          if (this.writer === writer) this.flush();
        });
        return;
      }
    }
  }
}
