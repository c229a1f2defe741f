import { ByteRange, END_OF_FILE, isValidOffset, WHOLE_FILE } from '../../common/byte-range';
import type { Next, VopOf } from '../vop';
import type { CoherencyCore } from './coherency-core';
import { tokenRequest, type HeldToken } from './held-token';
import { LARGE_IO_BYTES, LargeIo } from './large-io';
import { fileRefOf, PAGE_SIZE } from './page';

/** A sequential small read that misses reads this much past its own pages, into the cache. */
const READ_AHEAD_BYTES = 128 * 1024;

/** Flushes of dirty pages in a small read's range before it reads around them straight from the store (readCached). */
const MAX_FLUSH_ROUNDS = 4;

const alignDown = (n: number): number => Math.floor(n / PAGE_SIZE) * PAGE_SIZE;
const alignUp = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/**
 * Reads under a data READ token: from the page cache (with read-ahead
 * when sequential), large reads and uncached files straight from the
 * backing store, and under a DIRECT token (a contended file) always from
 * the store (direct-io.ts).
 */
export class DataReads {
  private readonly large: LargeIo;

  constructor(private readonly core: CoherencyCore) {
    this.large = new LargeIo(core);
  }

  async read(vop: VopOf<'read'>, next: Next, ino: number): Promise<number> {
    const { offset, length, buffer } = vop.args;
    if (!isValidOffset(offset) || !Number.isInteger(length) || length <= 0 || !Buffer.isBuffer(buffer) || buffer.length < length) {
      return (await next(vop)) as number; // the backing store answers bad input with its own error
    }
    const { tokens } = this.core;
    const key = this.core.resourceOf(ino);
    const kernelPages = this.core.kernel.pages;
    const range = { start: alignDown(offset), end: alignUp(offset + length) };
    // While the kernel caches the file's pages (a cached open), they must lie under one whole-file token, a WRITE
    // one while a mapping may dirty them (kernel-pages.ts).
    const dataReq = kernelPages.wholeFileReads(key) ? tokenRequest(key, 'data', kernelPages.readMode(key), WHOLE_FILE) : tokenRequest(key, 'data', 'READ', range);
    const use = tokens.tryUse(dataReq) ?? (await tokens.use(dataReq, vop.signal));
    try {
      // A cached open meets DIRECT: its pages are revalidated by read(2) only (kernel-pages.ts), so the kernel may
      // keep no attributes from before (given under an attr token that another host's DIRECT write never revokes).
      if (use.token.mode === 'DIRECT' && kernelPages.wholeFileReads(key)) await this.core.kernel.dropAttrs(key);
      const n = await this.readUnder(vop, next, ino, key, range, use.token);
      kernelPages.served(key, use.token);
      return n;
    } finally {
      use.done();
    }
  }

  private async readUnder(vop: VopOf<'read'>, next: Next, ino: number, key: string, range: ByteRange, token: HeldToken): Promise<number> {
    const { tokens, writeBack } = this.core;
    if (token.mode === 'DIRECT') return this.core.direct.read(vop, next, key);
    if (tokens.isUncached(key)) {
      await writeBack.flush(key, { start: vop.args.offset, end: END_OF_FILE });
      this.core.pages.dropClean(key);
      return (await next(vop)) as number;
    }
    if (vop.args.length >= LARGE_IO_BYTES) return this.large.read(vop, next, key);
    return this.readCached(vop, next, ino, key, range, token);
  }

  /**
   * A small read: from the page cache, or from the backing store into it
   * (with read-ahead when sequential). This host's dirty bytes in the range
   * the backing read covers are flushed first: a flush that ended while
   * the read was out cleans their pages (an unfilled one is gone), which
   * then no longer lie over what the read may have read before the flush,
   * and the old bytes would be served and cached (chaos seed 17 with
   * --kernel-page-cache: a host's own write unseen by its readers until
   * its token went). A write during the read changes writeGeneration: not
   * cached. After MAX_FLUSH_ROUNDS (writes keep coming), straight from the
   * store.
   */
  private async readCached(vop: VopOf<'read'>, next: Next, ino: number, key: string, range: ByteRange, token: HeldToken): Promise<number> {
    const { offset, length, buffer } = vop.args;
    const { tokens, pages, writeBack } = this.core;
    // Where the file ends is known only under a token reaching END_OF_FILE (it may shrink while we wait).
    const reachesEof = (): boolean => token.alive && token.range.end === END_OF_FILE;
    for (let round = 0; ; round++) {
      const cachedFile = pages.file(key);
      const hit = cachedFile && pages.readCached(cachedFile, offset, length, reachesEof());
      if (hit) {
        cachedFile.readEnd = offset + hit.length;
        return hit.copy(buffer);
      }
      const before = pages.fileFor(key, fileRefOf(vop, ino));
      // Ahead only as far as the token reaches: pages outside it could not be cached anyway.
      const aheadEnd = before.readEnd === offset ? Math.max(range.end, Math.min(range.end + READ_AHEAD_BYTES, alignDown(token.range.end))) : range.end;
      const span = { start: range.start, end: aheadEnd };
      if (pages.hasDirtyIn(before, span)) {
        if (round === MAX_FLUSH_ROUNDS) return this.large.read(vop, next, key);
        await writeBack.flush(key, span);
        continue;
      }
      const generation = before.writeGeneration;
      const tmp = Buffer.allocUnsafe(aheadEnd - range.start);
      const backingRead: VopOf<'read'> = { op: 'read', path: vop.path, ino: vop.ino, args: { fh: vop.args.fh, buffer: tmp, offset: range.start, length: tmp.length }, signal: vop.signal };
      const n = (await next(backingRead)) as number;
      const file = pages.fileFor(key, fileRefOf(vop, ino));
      const out = pages.readThrough(file, offset, length, tmp.subarray(0, n), {
        allowShort: reachesEof(),
        generation,
        cacheable: (index) => token.alive && !tokens.isUncached(key) && token.range.start <= index * PAGE_SIZE && (index + 1) * PAGE_SIZE <= token.range.end,
      });
      file.readEnd = offset + out.length;
      return out.copy(buffer);
    }
  }
}
