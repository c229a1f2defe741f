import { ByteRange, WHOLE_FILE } from '../../common/byte-range';
import { FilePages, newGeneration, Page, PAGE_SIZE } from './page';
import { PageStore } from './page-store';

export type { PageCacheOptions } from './page-store';

/** How a read that missed may use what it read from the backing store. */
export interface FillPolicy {
  /** A page where the file ends may be served and cached (a data token covers it through END_OF_FILE). */
  allowShort: boolean;
  /** The page may be cached (a token covers all of it and the file is not uncached). */
  cacheable(index: number): boolean;
  /** FilePages.writeGeneration before the backing read; a write since then keeps the result out of the cache. */
  generation: number;
}

/**
 * Per-file 4 KiB page cache under one memory limit. It knows nothing of
 * tokens: callers cache clean pages only under a READ/WRITE data token
 * covering them and dirty bytes only under WRITE, and drop pages when the
 * token goes (revoke-handler.ts).
 */
export class PageCache extends PageStore {
  /** The bytes [offset, offset+length) if every page they need is cached; shorter at end of file. */
  readCached(file: FilePages, offset: number, length: number, allowShort: boolean): Buffer | undefined {
    const out = Buffer.allocUnsafe(length);
    const end = offset + length;
    let pos = offset;
    while (pos < end) {
      const page = file.pages.get(Math.floor(pos / PAGE_SIZE));
      if (!page || !page.filled || (page.length < PAGE_SIZE && !allowShort)) return undefined;
      if (!page.dirty) this.touch(page);
      pos += copyOut(page.buf, page.length, page.offset, pos, end, out, pos - offset);
      if (pos < Math.min(end, page.offset + PAGE_SIZE)) return out.subarray(0, pos - offset);
    }
    return out;
  }

  /** Whether a page of `file` holds dirty bytes in `range`: a backing read there must wait for their flush (DataReads.readCached). */
  hasDirtyIn(file: FilePages, range: ByteRange): boolean {
    return file.dirty.size > 0 && this.pagesIn(file, range).some((p) => p.dirty);
  }

  /**
   * Serves a read from pages where they are good and from `backing` (file
   * bytes read at the first page's offset) elsewhere, caching what the
   * policy allows. Dirty bytes always win over backing bytes. Backing bytes
   * past the read's last page are read-ahead: cached, where not already.
   */
  readThrough(file: FilePages, offset: number, length: number, backing: Buffer, policy: FillPolicy): Buffer {
    const out = Buffer.allocUnsafe(length);
    const first = Math.floor(offset / PAGE_SIZE);
    const end = offset + length;
    const mayCache = file.writeGeneration === policy.generation;
    let pos = offset;
    while (pos < end) {
      const index = Math.floor(pos / PAGE_SIZE);
      const page = file.pages.get(index);
      let buf: Buffer;
      let pageLength: number;
      if (page && page.filled && (page.length === PAGE_SIZE || policy.allowShort)) {
        buf = page.buf;
        pageLength = page.length;
      } else {
        const at = (index - first) * PAGE_SIZE;
        const src = backing.subarray(Math.min(at, backing.length), Math.min(at + PAGE_SIZE, backing.length));
        const cached = mayCache ? this.fill(file, page, index, src, policy) : undefined;
        if (cached) {
          buf = cached.buf;
          pageLength = cached.length;
        } else {
          pageLength = file.lengthFor(page, index, src.length);
          const scratch = new Page(file, index);
          if (page?.dirty) {
            page.buf.copy(scratch.buf, page.dirtyStart, page.dirtyStart, page.dirtyEnd);
            scratch.dirtyStart = page.dirtyStart;
            scratch.dirtyEnd = page.dirtyEnd;
          }
          scratch.fillFrom(src, pageLength);
          buf = scratch.buf;
        }
      }
      pos += copyOut(buf, pageLength, index * PAGE_SIZE, pos, end, out, pos - offset);
      if (pos < Math.min(end, (index + 1) * PAGE_SIZE)) break;
    }
    const ahead = (Math.floor((end - 1) / PAGE_SIZE) + 1 - first) * PAGE_SIZE;
    if (mayCache && backing.length > ahead) this.fillAhead(file, first + ahead / PAGE_SIZE, backing.subarray(ahead), policy);
    this.evict();
    this.forgetIfEmpty(file);
    return pos - offset < length ? out.subarray(0, pos - offset) : out;
  }

  /**
   * Buffers `data` at `offset` as dirty. Returns the index of a page that
   * would end up with two dirty extents (nothing is changed then: flush that
   * page and retry), or -1 when done.
   *
   * A page's dirty extent holds only bytes this host may write: two extents
   * of a filled page merge only when `writable` (the WRITE token the write
   * holds) covers the clean bytes between them. Otherwise those bytes, maybe
   * held only under READ, would be flushed with this host's copy after
   * another host wrote them (a lost update).
   */
  write(file: FilePages, offset: number, data: Buffer, writable?: ByteRange): number {
    const end = offset + data.length;
    const firstIndex = Math.floor(offset / PAGE_SIZE);
    const lastIndex = Math.floor((end - 1) / PAGE_SIZE);
    for (const index of firstIndex === lastIndex ? [firstIndex] : [firstIndex, lastIndex]) {
      const p = file.pages.get(index);
      if (!p || !p.dirty) continue;
      const s = Math.max(offset, p.offset) - p.offset;
      const e = Math.min(end, p.offset + PAGE_SIZE) - p.offset;
      if (e >= p.dirtyStart && s <= p.dirtyEnd) continue;
      const gap = e < p.dirtyStart ? { start: p.offset + e, end: p.offset + p.dirtyStart } : { start: p.offset + p.dirtyEnd, end: p.offset + s };
      const mayMerge = p.filled && writable !== undefined && writable.start <= gap.start && gap.end <= writable.end;
      if (!mayMerge) return index;
    }
    file.writeGeneration = newGeneration();
    const short = file.shortPage;
    if (short && end > short.offset + short.length && lastIndex > short.index) {
      short.length = PAGE_SIZE;
      file.shortPage = undefined;
    }
    for (let index = firstIndex; index <= lastIndex; index++) {
      const page = file.pages.get(index) ?? this.add(file, index);
      const s = Math.max(offset, page.offset) - page.offset;
      const e = Math.min(end, page.offset + PAGE_SIZE) - page.offset;
      data.copy(page.buf, s, page.offset + s - offset, page.offset + e - offset);
      page.dirtyStart = page.dirty ? Math.min(page.dirtyStart, s) : s;
      page.dirtyEnd = Math.max(page.dirtyEnd, e);
      page.length = Math.max(page.length, e);
      if (page.dirtyStart === 0 && page.dirtyEnd === PAGE_SIZE) page.filled = true;
      if (page.filled) this.noteLength(page);
      page.version++;
      this.markDirty(page);
    }
    file.dirtyEnd = Math.max(file.dirtyEnd, end);
    return -1;
  }

  /**
   * Drops pages overlapping `range`. A dirty page keeps its dirty bytes (as
   * an unfilled page) when they lie outside the range or `keepDirty` is set.
   * Returns how many dirty pages lost dirty bytes (callers flush first).
   */
  dropRange(file: FilePages, range: ByteRange, keepDirty = false): number {
    let lost = 0;
    for (const page of this.pagesIn(file, range)) {
      if (!page.dirty) this.remove(page);
      else if (!keepDirty && page.offset + page.dirtyStart < range.end && range.start < page.offset + page.dirtyEnd) {
        this.remove(page);
        lost++;
      } else {
        page.filled = false;
        if (file.shortPage === page) file.shortPage = undefined;
      }
    }
    file.writeGeneration = newGeneration();
    file.recomputeDirtyEnd();
    this.forgetIfEmpty(file);
    return lost;
  }

  /** Drops the file's clean pages (its dirty bytes stay); the file's generation moves on, so a read beside it caches nothing. */
  dropClean(key: string): void {
    const file = this.file(key);
    if (file) this.dropRange(file, WHOLE_FILE, true);
  }

  /** Caches the pages of `backing` (file bytes from page `index` on) that are not cached yet, while the policy allows. */
  private fillAhead(file: FilePages, index: number, backing: Buffer, policy: FillPolicy): void {
    for (let at = 0; at < backing.length; at += PAGE_SIZE, index++) {
      const page = file.pages.get(index);
      if (page?.filled) continue;
      if (!this.fill(file, page, index, backing.subarray(at, Math.min(at + PAGE_SIZE, backing.length)), policy)) return;
    }
  }

  /** Caches backing bytes `src` as page `index` if the policy allows it; the cached page, or undefined. */
  private fill(file: FilePages, page: Page | undefined, index: number, src: Buffer, policy: FillPolicy): Page | undefined {
    const pageLength = file.lengthFor(page, index, src.length);
    if (pageLength <= 0 || (pageLength < PAGE_SIZE && !policy.allowShort) || !policy.cacheable(index)) return undefined;
    page ??= this.add(file, index);
    page.fillFrom(src, pageLength);
    this.noteLength(page);
    this.settle(page);
    return page;
  }

  /** Applies a truncate to the cache: pages past newSize go, the page containing it is cut. */
  truncate(file: FilePages, newSize: number): void {
    file.writeGeneration = newGeneration();
    for (const page of this.pagesIn(file, { start: newSize, end: Number.MAX_SAFE_INTEGER })) {
      const cut = newSize - page.offset;
      if (cut <= 0) {
        this.remove(page);
        continue;
      }
      page.buf.fill(0, cut);
      page.length = Math.min(page.length, cut);
      if (page.dirty) {
        page.dirtyEnd = Math.min(page.dirtyEnd, cut);
        page.version++;
        if (page.dirtyEnd <= page.dirtyStart) this.clean(page);
      }
      if (page.filled) this.noteLength(page);
    }
    const short = file.shortPage;
    if (short && short.file.pages.get(short.index) === short && newSize > short.offset + short.length) {
      short.length = Math.min(PAGE_SIZE, newSize - short.offset);
      if (short.length === PAGE_SIZE) file.shortPage = undefined;
    }
    file.recomputeDirtyEnd();
  }
}

/** Copies the bytes of [pos, end) that lie in one page (content `length`) into out at `at`; returns how many. */
function copyOut(buf: Buffer, length: number, pageOffset: number, pos: number, end: number, out: Buffer, at: number): number {
  const from = pos - pageOffset;
  const avail = Math.min(end - pageOffset, PAGE_SIZE, length);
  if (avail <= from) return 0;
  buf.copy(out, at, from, avail);
  return avail - from;
}
