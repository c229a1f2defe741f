import { END_OF_FILE } from '../../common/byte-range';
import type { Logger } from '../../common/logger';
import type { HeldToken } from './held-token';

/** Drops every page the kernel caches of a backing inode (notify_inval_inode, offset 0: takes page locks). */
export type PageInvalidator = (ino: number) => Promise<void>;

/** Passes of one revoke before it answers with pages possibly cached (a hot reader; logged). */
export const MAX_PAGE_PASSES = 16;

/** What the kernel may cache of one file's data, and under what. */
interface FilePagesState {
  readonly ino: number;
  /** Opens whose READs the kernel caches (no direct_io). */
  cachedOpens: number;
  /** The whole-file tokens that READs were served under: the kernel's pages are valid while every one of them is. */
  readonly under: Set<HeldToken>;
  /** Pages may be cached that no whole-file token covers (served under DIRECT, a part, an uncached or a dead token). */
  stray: boolean;
  /** READs of the inode seen so far (any handle): a pass that saw none start is the last one. */
  readsStarted: number;
  /** Bumped at every change of `under` or `stray`: a drop forgets only what it saw. */
  generation: number;
  dropPending: boolean;
}

/** A token the kernel may cache pages under: whole file, caching mode, not uncached, still held. */
export function coversKernelPages(t: HeldToken): boolean {
  return t.alive && t.space === 'data' && t.mode !== 'DIRECT' && !t.uncached && t.range.start === 0 && t.range.end === END_OF_FILE;
}

/**
 * The kernel's page cache of the agent mount under data tokens (docs/fuse.md,
 * "The page cache"). Only O_RDONLY opens are cached; while a file has one,
 * every READ of it asks for a whole-file token, so the kernel holds pages
 * only under such tokens. Before one of them goes (revoke or retirement),
 * `beforeGiveUp` drops the pages in passes that run while the token is
 * still usable: a pass waits only on READs holding page locks, which are
 * served without waiting for any token. A READ served otherwise (DIRECT)
 * makes its pages stray: they are dropped just after its reply, and before
 * any GETATTR (read(2) of a cached open sends one first: the attribute
 * timeout is 0 under DIRECT, and the mount asks for AUTO_INVAL_DATA).
 */
export class KernelPages {
  private readonly files = new Map<string, FilePagesState>();
  private invalidate: PageInvalidator | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly plantSkipInvalidation = false,
  ) {}

  /** Where drops go (undefined: no mount, nothing is cached). */
  attach(invalidate: PageInvalidator | undefined): void {
    this.invalidate = invalidate;
  }

  get supported(): boolean {
    return this.invalidate !== undefined;
  }

  /**
   * A cached open of `key` is being answered: whether the kernel may keep
   * the pages it has (keep_cache), which it may only when every one of them
   * is covered by a token still held. Otherwise the kernel drops them at
   * this open, so what was stray is forgotten.
   */
  opened(key: string, ino: number): boolean {
    const st = this.stateOf(key, ino);
    st.cachedOpens++;
    const keep = this.covered(st);
    if (!keep) this.forget(st);
    return keep;
  }

  released(key: string): void {
    const st = this.files.get(key);
    if (!st) return;
    st.cachedOpens = Math.max(0, st.cachedOpens - 1);
    this.maybeDelete(key, st);
  }

  /** READs of `key` ask for the whole file while a cached open of it exists. */
  wholeFileReads(key: string): boolean {
    return (this.files.get(key)?.cachedOpens ?? 0) > 0;
  }

  readStarting(key: string): void {
    const st = this.files.get(key);
    if (st) st.readsStarted++;
  }

  /** A READ of `key` was served under `token`: its pages are the kernel's now (they may be). */
  served(key: string, token: HeldToken): void {
    const st = this.files.get(key);
    if (!st) return;
    st.generation++;
    if (coversKernelPages(token)) {
      st.under.add(token);
      return;
    }
    st.stray = true;
    this.dropSoon(key, st);
  }

  /** A GETATTR of `key` is about to be answered: a read(2) may follow it, which must not find pages no token covers. */
  async beforeGetattr(key: string): Promise<void> {
    const st = this.files.get(key);
    if (st && !this.covered(st) && (st.stray || st.under.size > 0)) await this.drop(key, st);
  }

  /**
   * A whole-file data token `t` of a file the kernel may cache is about to
   * be blocked and given up (wholly or in part): drop the file's pages in
   * passes until one saw no READ of the file start, so the caller can block
   * the token in the same tick. Whatever token the pages are recorded
   * under: a READ in flight under `t` records it only once served (a pass
   * waits for it), and a token that replaced another one covers what that
   * one did. Only whole-file tokens: the kernel caches nothing under a
   * part (READs of cached opens ask for the whole file; what other tokens
   * served is stray), and a pass for a part could wait on a READ that waits
   * for a whole-file token already blocked, while `t` itself serves every
   * READ its own passes wait on.
   */
  async beforeGiveUp(t: HeldToken): Promise<void> {
    const st = this.files.get(t.resource);
    if (!st || !coversKernelPages(t)) return;
    for (let pass = 1; pass <= MAX_PAGE_PASSES; pass++) {
      const reads = st.readsStarted;
      const generation = st.generation;
      await this.dropPages(st);
      if (st.readsStarted === reads) {
        if (st.generation === generation) this.forget(st);
        else st.under.delete(t);
        this.maybeDelete(t.resource, st);
        return;
      }
    }
    this.logger.warn('reads kept coming while the kernel dropped a file\'s pages; answering anyway', { resource: t.resource, passes: MAX_PAGE_PASSES });
    st.under.delete(t);
  }

  /**
   * A new grant made `t` smaller than the whole file without a revoke (the
   * part it lost was this host's to give): its pages are stray from now on.
   */
  shrunk(t: HeldToken): void {
    const st = this.files.get(t.resource);
    if (!st || !st.under.delete(t)) return;
    st.generation++;
    st.stray = true;
    this.dropSoon(t.resource, st);
  }

  /** A token was lost without a revoke, or the session is gone: nothing it covered may stay. */
  lost(key: string): void {
    const st = this.files.get(key);
    if (st) void this.drop(key, st);
  }

  lostAll(): void {
    for (const [key, st] of this.files) void this.drop(key, st);
  }

  private covered(st: FilePagesState): boolean {
    if (st.stray) return false;
    for (const t of st.under) if (!coversKernelPages(t)) return false;
    return true;
  }

  private dropSoon(key: string, st: FilePagesState): void {
    if (st.dropPending || st.cachedOpens === 0) return;
    st.dropPending = true;
    // After the READ's reply is written: the kernel installs its pages while the reply is written.
    setImmediate(() => {
      st.dropPending = false;
      if (st.stray) void this.drop(key, st);
    });
  }

  private async drop(key: string, st: FilePagesState): Promise<void> {
    const generation = st.generation;
    await this.dropPages(st);
    if (st.generation === generation) this.forget(st);
    this.maybeDelete(key, st);
  }

  private async dropPages(st: FilePagesState): Promise<void> {
    if (this.invalidate === undefined || this.plantSkipInvalidation) return;
    try {
      await this.invalidate(st.ino);
    } catch (e) {
      this.logger.error('kernel page invalidation failed', { ino: st.ino, error: (e as Error).message });
    }
  }

  private forget(st: FilePagesState): void {
    st.under.clear();
    st.stray = false;
    st.generation++;
  }

  private stateOf(key: string, ino: number): FilePagesState {
    let st = this.files.get(key);
    if (!st) {
      st = { ino, cachedOpens: 0, under: new Set(), stray: false, readsStarted: 0, generation: 0, dropPending: false };
      this.files.set(key, st);
    }
    return st;
  }

  /** Kept while a cached open or a token may still have pages: bounded by the open files and the held tokens. */
  private maybeDelete(key: string, st: FilePagesState): void {
    if (st.cachedOpens > 0 || st.stray || st.dropPending) return;
    for (const t of st.under) if (!t.alive) st.under.delete(t);
    if (st.under.size === 0) this.files.delete(key);
  }
}
