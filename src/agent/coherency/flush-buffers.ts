/** Runs at least this long are copied into a kept buffer; smaller ones get a fresh (cheap) allocation. */
const REUSE_FROM_BYTES = 64 * 1024;

/**
 * The buffers write-back copies coalesced dirty pages into, kept for the
 * next flush. Why: a fresh multi-MiB buffer is an mmap whose pages fault in
 * on the copy and an munmap when collected, and measured slower than the
 * copy itself. Why a copy at all (not a gathering pwritev of the page
 * buffers): the copy is a snapshot taken in one tick, between FUSE requests,
 * so a flush never writes half of a request that arrives meanwhile.
 */
export class FlushBuffers {
  private readonly spare: Buffer[] = [];
  private readonly owned = new WeakSet<ArrayBufferLike>();

  /** `size`: the largest run (WriteBack's maxWriteBytes); `keep`: spare buffers kept at most. */
  constructor(private readonly size: number, private readonly keep = 2) {}

  /** A buffer of exactly `length` bytes (≤ size); give() it back once the pwrite settled. */
  take(length: number): Buffer {
    if (length < REUSE_FROM_BYTES || length > this.size) return Buffer.allocUnsafe(length);
    let whole = this.spare.pop();
    if (!whole) {
      whole = Buffer.allocUnsafeSlow(this.size);
      this.owned.add(whole.buffer);
    }
    return whole.subarray(0, length);
  }

  /** Returns a buffer from take(); others are left to the collector. */
  give(buf: Buffer): void {
    if (!this.owned.has(buf.buffer) || this.spare.length >= this.keep || this.spare.some((b) => b.buffer === buf.buffer)) return;
    this.spare.push(Buffer.from(buf.buffer, 0, this.size));
  }

  get spareCount(): number {
    return this.spare.length;
  }
}
