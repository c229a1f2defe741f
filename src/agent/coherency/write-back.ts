import { ByteRange, overlaps } from '../../common/byte-range';
import type { Clock, TimerHandle } from '../../common/clock';
import { SessionLostError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { EarlySync, SyncFn } from './early-sync';
import { FlushBuffers } from './flush-buffers';
import { FilePages, FileRef, Page, PAGE_SIZE } from './page';
import type { PageCache } from './page-cache';

/** Writes flushed bytes to the backing store (one pwrite). */
export type FlushFn = (file: FileRef, offset: number, data: Buffer) => Promise<void>;

export interface WriteBackOptions {
  pages: PageCache;
  flushFn: FlushFn;
  clock: Clock;
  /** Local ms (same scale as clock) past which nothing may be written: TokenClient.leaseDeadlineMs. */
  deadlineMs: () => number;
  /** The session is lost (TokenClient.isFenced). */
  isFenced?: () => boolean;
  logger?: Logger;
  /** Writers wait for flushes while more than this is dirty. Default 32 MiB. */
  maxDirtyBytes?: number;
  /** Above this much dirty, the dirtiest files are flushed in the background while writers go on. Default maxDirtyBytes / 4. */
  backgroundDirtyBytes?: number;
  /** A dirtied file is flushed at most this long after its first dirty byte. Default 1000 ms. */
  flushDelayMs?: number;
  /** Largest single pwrite of coalesced pages. Default 4 MiB. */
  maxWriteBytes?: number;
  /** fdatasync of a file through its handle: with it, flushes sync a file every earlySyncBytes (early-sync.ts). */
  syncFn?: SyncFn;
  /** Default 8 MiB. */
  earlySyncBytes?: number;
}

interface Run {
  offset: number;
  data: Buffer;
  pages: Array<{ page: Page; version: number; start: number; end: number }>;
  /** Cursor into the candidates after this run. */
  next: number;
}

/**
 * Dirty pages on their way to the backing store: flushed on fsync, on
 * revoke, under memory pressure and ~1 s after a file's first dirty byte,
 * with contiguous dirty pages coalesced into large pwrites.
 *
 * Self-fencing: the lease deadline is checked right before every pwrite;
 * past it, the file's dirty pages are dropped and become a per-file error
 * that the next fsync/flush/release reports. Data is never written late and
 * never lost silently. pwrite failures become per-file errors the same way.
 */
export class WriteBack {
  private readonly pages: PageCache;
  private readonly flushFn: FlushFn;
  private readonly clock: Clock;
  private readonly deadlineMs: () => number;
  private readonly isFenced: () => boolean;
  private readonly logger?: Logger;
  readonly maxDirtyBytes: number;
  readonly backgroundDirtyBytes: number;
  readonly flushDelayMs: number;
  private readonly maxWriteBytes: number;
  private readonly timers = new Map<string, TimerHandle>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly errors = new Map<string, Error>();
  /** Syncs a file inside its flushes every few MiB (absent without syncFn). */
  readonly earlySync?: EarlySync;
  private relief: Promise<void> | undefined;
  private background: Promise<void> | undefined;
  private readonly buffers: FlushBuffers;
  /** Runs written or given up so far: lets the background loop stop when a flush made no progress. */
  private runsDone = 0;

  constructor(options: WriteBackOptions) {
    this.pages = options.pages;
    this.flushFn = options.flushFn;
    this.clock = options.clock;
    this.deadlineMs = options.deadlineMs;
    this.isFenced = options.isFenced ?? (() => false);
    this.logger = options.logger;
    this.maxDirtyBytes = positive(options.maxDirtyBytes ?? 32 * 1024 * 1024, 'maxDirtyBytes');
    this.flushDelayMs = positive(options.flushDelayMs ?? 1000, 'flushDelayMs');
    this.backgroundDirtyBytes = positive(options.backgroundDirtyBytes ?? this.maxDirtyBytes / 4, 'backgroundDirtyBytes');
    this.maxWriteBytes = Math.max(PAGE_SIZE, positive(options.maxWriteBytes ?? 4 * 1024 * 1024, 'maxWriteBytes'));
    this.buffers = new FlushBuffers(this.maxWriteBytes);
    if (options.syncFn) this.earlySync = new EarlySync(options.syncFn, options.earlySyncBytes);
  }

  /**
   * Call after PageCache.write dirtied the file: arms its flush timer,
   * above backgroundDirtyBytes starts flushing without waiting (so a
   * stream's writes and flushes overlap), and over the dirty limit returns
   * a promise the writer awaits (throttling).
   */
  dirtied(key: string): Promise<void> | undefined {
    if (!this.timers.has(key)) {
      this.timers.set(key, this.clock.setTimer(this.flushDelayMs, () => this.onTimer(key)));
    }
    this.pages.evict();
    const dirty = this.pages.dirtyBytes;
    if (dirty > this.backgroundDirtyBytes && !this.background) {
      this.background = this.flushInBackground().finally(() => {
        this.background = undefined;
      });
    }
    if (dirty <= this.maxDirtyBytes) return undefined;
    this.relief ??= this.relievePressure().finally(() => {
      this.relief = undefined;
    });
    return this.relief;
  }

  /** Flushes the file's dirty pages overlapping `range` (default all). Never throws: failures become the file's error. */
  flush(key: string, range?: ByteRange): Promise<void> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.flushNow(key, range));
    this.chains.set(key, next);
    void next.finally(() => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    });
    return next;
  }

  /** Flushes every file. */
  async flushAll(): Promise<void> {
    await Promise.all(this.pages.allFiles().filter((f) => f.dirty.size > 0).map((f) => this.flush(f.key)));
  }

  /** The file's deferred error, once: the next fsync/flush/release reports it. */
  takeError(key: string): Error | undefined {
    const e = this.errors.get(key);
    this.errors.delete(key);
    return e;
  }

  hasError(key: string): boolean {
    return this.errors.has(key);
  }

  recordError(key: string, error: Error): void {
    if (!this.errors.has(key)) this.errors.set(key, error);
  }

  /** The session is gone: every dirty page becomes its file's error; all pages are dropped. */
  abandonAll(reason: string): void {
    for (const file of this.pages.allFiles()) this.abandon(file, reason);
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }

  /** A token of the file was lost (refused reclaim): its dirty pages become the file's error; its pages go. */
  abandonFile(key: string, reason: string): void {
    const file = this.pages.file(key);
    if (file) this.abandon(file, reason);
  }

  private abandon(file: FilePages, reason: string): void {
    const lost = this.pages.dropFile(file);
    if (lost === 0) return;
    this.recordError(file.key, new SessionLostError('LEASE_DEADLINE_PASSED', 'dirty data could not be written before the lease deadline', { path: file.ref.path, ino: file.ref.ino, pages: lost, reason }));
    this.logger?.warn('dropped dirty pages past the lease deadline', { ino: file.ref.ino, path: file.ref.path, pages: lost, reason });
  }

  private onTimer(key: string): void {
    this.timers.delete(key);
    void this.flush(key);
  }

  private async flushNow(key: string, range: ByteRange | undefined): Promise<void> {
    const candidates = this.dirtyPages(key, range);
    let cursor = 0;
    for (;;) {
      const file = this.pages.file(key);
      if (!file) return;
      const run = this.nextRun(candidates, cursor);
      if (!run) break;
      cursor = run.next;
      if (this.isFenced() || this.clock.nowMs() >= this.deadlineMs()) {
        this.buffers.give(run.data);
        return this.abandon(file, 'lease deadline passed before flush');
      }
      try {
        await this.flushFn(file.ref, run.offset, run.data);
        for (const p of run.pages) this.pages.markClean(p.page, p.version);
        await this.earlySync?.flushed(file, run.data.length);
      } catch (e) {
        const error = e instanceof Error ? e : new Error(String(e));
        this.recordError(key, error);
        this.logger?.warn('write-back failed, dropping the dirty range', { ino: file.ref.ino, path: file.ref.path, offset: run.offset, length: run.data.length, error: error.message });
        this.pages.dropRange(file, { start: run.offset, end: run.offset + run.data.length });
      } finally {
        this.buffers.give(run.data);
        this.runsDone++;
      }
    }
    const file = this.pages.file(key);
    file?.recomputeDirtyEnd();
    if (!file || file.dirty.size === 0) {
      this.timers.get(key)?.cancel();
      this.timers.delete(key);
    }
  }

  /**
   * The file's dirty pages with dirty bytes in range, in file order, plus
   * the rest of every contiguous dirty run they belong to: one write(2)
   * across a page boundary is one run, and flushing only its pages in range
   * would leave a torn record in the store if this host died before the
   * rest (simulation seed 697 with faults). The extra pages are dirty
   * under this host's own WRITE token, so writing them early is safe.
   */
  private dirtyPages(key: string, range: ByteRange | undefined): Page[] {
    const file = this.pages.file(key);
    if (!file) return [];
    const sorted = [...file.dirty].sort((a, b) => a.index - b.index);
    if (!range) return sorted;
    const joined = (a: Page, b: Page) => a.index + 1 === b.index && a.dirtyEnd === PAGE_SIZE && b.dirtyStart === 0;
    const keep = sorted.map((p) => overlaps(range, { start: p.offset + p.dirtyStart, end: p.offset + p.dirtyEnd }));
    for (let i = 1; i < sorted.length; i++) if (keep[i - 1] && joined(sorted[i - 1], sorted[i])) keep[i] = true;
    for (let i = sorted.length - 2; i >= 0; i--) if (keep[i + 1] && joined(sorted[i], sorted[i + 1])) keep[i] = true;
    return sorted.filter((_, i) => keep[i]);
  }

  /**
   * The next run of contiguous dirty bytes from candidates[cursor], copied
   * now (same tick as the checks), skipping pages cleaned or dropped since.
   */
  private nextRun(candidates: Page[], cursor: number): Run | undefined {
    const live = (p: Page): boolean => p.dirty && p.file.pages.get(p.index) === p;
    while (cursor < candidates.length && !live(candidates[cursor])) cursor++;
    if (cursor >= candidates.length) return undefined;
    const first = candidates[cursor];
    const pages: Run['pages'] = [];
    let bytes = 0;
    let prev: Page | undefined;
    for (; cursor < candidates.length; cursor++) {
      const page = candidates[cursor];
      if (!live(page)) break;
      if (prev && !(prev.index + 1 === page.index && prev.dirtyEnd === PAGE_SIZE && page.dirtyStart === 0)) break;
      if (prev && bytes + page.dirtyEnd > this.maxWriteBytes) break;
      pages.push({ page, version: page.version, start: page.dirtyStart, end: page.dirtyEnd });
      bytes += page.dirtyEnd - page.dirtyStart;
      prev = page;
    }
    const data = this.buffers.take(bytes);
    let at = 0;
    for (const p of pages) at += p.page.buf.copy(data, at, p.start, p.end);
    return { offset: first.offset + first.dirtyStart, data, pages, next: cursor };
  }

  /**
   * Flushes the dirtiest file while more than backgroundDirtyBytes is dirty;
   * nobody waits for it. Stops when a flush wrote nothing (nothing left it can do).
   */
  private async flushInBackground(): Promise<void> {
    while (this.pages.dirtyBytes > this.backgroundDirtyBytes) {
      let dirtiest: FilePages | undefined;
      for (const f of this.pages.allFiles()) if (!dirtiest || f.dirty.size > dirtiest.dirty.size) dirtiest = f;
      if (!dirtiest || dirtiest.dirty.size === 0) return;
      const before = this.runsDone;
      await this.flush(dirtiest.key);
      if (this.runsDone === before) return;
    }
  }

  /** Flushes files, most dirty first, until the dirty total is under the limit. */
  private async relievePressure(): Promise<void> {
    const files = this.pages.allFiles().filter((f) => f.dirty.size > 0).sort((a, b) => b.dirty.size - a.dirty.size);
    for (const f of files) {
      if (this.pages.dirtyBytes <= this.maxDirtyBytes / 2) return;
      await this.flush(f.key);
    }
  }
}

function positive(n: number, name: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`${name} must be positive`);
  return n;
}
