import type { ByteRange } from '../../common/byte-range';
import { FilePages, FileRef, Page, PAGE_SIZE } from './page';
import { PageBufferPool } from './page-buffer-pool';
import { IntrusiveLru } from './intrusive-lru';

export interface PageCacheOptions {
  /** Memory for cached pages, clean and dirty; clean pages are evicted LRU beyond it. Default 64 MiB. */
  maxBytes?: number;
}

/**
 * Where cached pages live: per-file page maps, the LRU of clean pages,
 * memory accounting and the page state changes every operation shares
 * (PageCache adds the reads, writes and drops on top).
 */
export class PageStore {
  readonly maxBytes: number;
  protected readonly files = new Map<string, FilePages>();
  /** Clean filled pages, least recently used first. */
  protected readonly lru = new IntrusiveLru<Page>();
  /** Buffers of removed pages, for the next ones (up to 4 MiB kept). */
  private readonly buffers = new PageBufferPool(1024);
  private pageCount = 0;
  private dirtyCount = 0;

  constructor(options: PageCacheOptions = {}) {
    const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    if (!Number.isInteger(maxBytes) || maxBytes < PAGE_SIZE) throw new RangeError('maxBytes must be at least one page');
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.pageCount * PAGE_SIZE;
  }

  get dirtyBytes(): number {
    return this.dirtyCount * PAGE_SIZE;
  }

  file(key: string): FilePages | undefined {
    return this.files.get(key);
  }

  /** The file's pages, created empty if needed (`ref` names a new one; set FilePages.ref to change it). */
  fileFor(key: string, ref: FileRef): FilePages {
    let f = this.files.get(key);
    if (!f) {
      f = new FilePages(key, ref);
      this.files.set(key, f);
    }
    return f;
  }

  allFiles(): FilePages[] {
    return [...this.files.values()];
  }

  /** After a flush wrote `version` of the page: clean it unless it was written again meanwhile. */
  markClean(page: Page, version: number): void {
    if (page.version !== version || !page.dirty || page.file.pages.get(page.index) !== page) return;
    this.clean(page);
  }

  /** Forgets where the file ends (no token covers it through END_OF_FILE any more). */
  forgetEof(file: FilePages): void {
    const short = file.shortPage;
    if (!short) return;
    file.shortPage = undefined;
    if (short.dirty) short.filled = false;
    else this.remove(short);
    this.forgetIfEmpty(file);
  }

  /** Forgets a file's pages, dirty ones included; returns how many dirty pages were dropped. */
  dropFile(file: FilePages): number {
    const lost = file.dirty.size;
    for (const page of [...file.pages.values()]) this.remove(page);
    this.files.delete(file.key);
    return lost;
  }

  protected pagesIn(file: FilePages, range: ByteRange): Page[] {
    const first = Math.floor(range.start / PAGE_SIZE);
    const last = Math.floor((Math.min(range.end, Number.MAX_SAFE_INTEGER) - 1) / PAGE_SIZE);
    if (last - first + 1 <= file.pages.size) {
      const out: Page[] = [];
      for (let i = first; i <= last; i++) {
        const p = file.pages.get(i);
        if (p) out.push(p);
      }
      return out;
    }
    return [...file.pages.values()].filter((p) => p.index >= first && p.index <= last);
  }

  protected add(file: FilePages, index: number): Page {
    const page = new Page(file, index, this.buffers.take());
    file.pages.set(index, page);
    this.pageCount++;
    return page;
  }

  protected remove(page: Page): void {
    const file = page.file;
    if (file.pages.get(page.index) !== page) return;
    file.pages.delete(page.index);
    this.lru.remove(page);
    if (file.dirty.delete(page)) this.dirtyCount--;
    if (file.shortPage === page) file.shortPage = undefined;
    this.pageCount--;
    this.buffers.give(page.buf); // nothing refers to it past this tick (page-buffer-pool.ts)
  }

  protected markDirty(page: Page): void {
    this.lru.remove(page);
    if (!page.file.dirty.has(page)) {
      page.file.dirty.add(page);
      this.dirtyCount++;
    }
  }

  protected clean(page: Page): void {
    page.dirtyStart = page.dirtyEnd = 0;
    if (page.file.dirty.delete(page)) this.dirtyCount--;
    this.settle(page);
  }

  /** A page that is clean now: into the LRU if filled, gone if it held only dirty bytes. */
  protected settle(page: Page): void {
    if (page.dirty) return;
    if (!page.filled) return this.remove(page);
    this.touch(page);
  }

  /** Keeps FilePages.shortPage pointing at the one filled page where the file ends. */
  protected noteLength(page: Page): void {
    const f = page.file;
    if (page.length === PAGE_SIZE) {
      if (f.shortPage === page) f.shortPage = undefined;
      return;
    }
    const old = f.shortPage;
    f.shortPage = page;
    if (old && old !== page) {
      if (old.dirty) old.filled = false;
      else this.remove(old);
    }
  }

  protected touch(page: Page): void {
    this.lru.push(page);
  }

  protected forgetIfEmpty(file: FilePages): void {
    if (file.pages.size === 0 && this.files.get(file.key) === file) this.files.delete(file.key);
  }

  /** Evicts clean pages, least recently used first, while over the memory limit. */
  evict(): void {
    while (this.bytes > this.maxBytes) {
      const oldest = this.lru.oldest();
      if (!oldest) return;
      this.remove(oldest);
      this.forgetIfEmpty(oldest.file);
    }
  }
}
