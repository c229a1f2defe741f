import { PAGE_SIZE } from './page';

/** Page buffers are cut from slabs of this many pages. */
const SLAB_PAGES = 64;

/**
 * Buffers of cached pages, cut from 256 KiB slabs and reused when pages go.
 * Why: a 4 KiB Buffer is too large for Node's shared pool, so each page
 * was an ArrayBuffer of its own; a 256 MiB stream allocated and collected
 * 65,536 of them, and their external-memory accounting drove full GCs.
 *
 * A buffer may be given back only when nothing refers to it any more: every
 * page-cache read copies out synchronously, and write-back copies dirty
 * bytes into its own buffer in the same tick it picks the pages
 * (flush-buffers.ts), so a removed page's buffer is free at once.
 */
export class PageBufferPool {
  private readonly free: Buffer[] = [];

  /** `maxFree`: buffers kept for reuse at most (beyond, they go to the collector). */
  constructor(private readonly maxFree: number) {}

  take(): Buffer {
    const buf = this.free.pop();
    if (buf) return buf;
    const slab = Buffer.allocUnsafeSlow(SLAB_PAGES * PAGE_SIZE);
    for (let i = SLAB_PAGES - 1; i > 0 && this.free.length < this.maxFree; i--) {
      this.free.push(slab.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
    }
    return slab.subarray(0, PAGE_SIZE);
  }

  give(buf: Buffer): void {
    if (this.free.length < this.maxFree) this.free.push(buf);
  }

  get freeCount(): number {
    return this.free.length;
  }
}
