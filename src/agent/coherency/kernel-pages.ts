import { END_OF_FILE } from '../../common/byte-range';
import type { Logger } from '../../common/logger';
import type { HeldToken } from './held-token';
import { coversKernelPages, newFilePagesState, type FilePagesState } from './kernel-file-pages';
import { LocalChanges } from './kernel-local-changes';
import type { ReadTicket } from './local-writes';
import { PageDropper, type PageInvalidator } from './page-dropper';
import { RecentDirect } from './recent-direct';

export { coversKernelPages } from './kernel-file-pages';
export { DIRECT_RECENT_MS } from './recent-direct';
export { MAX_PAGE_PASSES, READ_SETTLE_MAX_MS, READ_SETTLE_PAUSE_MS, type PageInvalidator } from './page-dropper';

/**
 * The kernel's page cache of the agent mount under data tokens (docs/fuse.md,
 * "The page cache"). Only O_RDONLY opens are cached, and only of files this
 * host has not served under DIRECT lately; while a file has one, every READ
 * of it asks for a whole-file token, so the kernel's pages lie under such
 * tokens. The only drops that can reach a file another host writes are the
 * ones a revoke or retirement needs before it answers (`beforeGiveUp`, in
 * passes that run while the token still serves READs): a drop bumps the
 * inode's attr_version, which makes the kernel discard a GETATTR in flight,
 * and a cached read(2) is bounded by the i_size that GETATTR should have
 * brought. Pages read under DIRECT by an open that predates it are never
 * dropped by the agent: read(2) revalidates them (attribute timeout 0 under
 * DIRECT, AUTO_INVAL_DATA drops them when size or mtime changed). This
 * host's own writes drop the bytes they wrote before they are answered.
 */
export class KernelPages {
  private readonly files = new Map<string, FilePagesState>();
  private readonly recentDirect: RecentDirect;
  private readonly drops: PageDropper;
  /** This host's own writes and truncates (kernel-local-changes.ts). */
  readonly local: LocalChanges;
  /** The mount is going away (closing()): every READ's page is dropped after its reply. */
  private closed = false;

  constructor(
    private readonly logger: Logger,
    plantSkipInvalidation = false,
    nowMs: () => number = Date.now,
    /** Waits `ms` on the agent's clock (default: not at all, for tests of the bookkeeping only). */
    sleep: (ms: number) => Promise<void> = () => Promise.resolve(),
  ) {
    this.recentDirect = new RecentDirect(nowMs);
    this.drops = new PageDropper(logger, plantSkipInvalidation, sleep);
    this.local = new LocalChanges(this.files, this.drops, logger);
  }

  /** Where drops go (undefined: no mount, nothing is cached). */
  attach(invalidate: PageInvalidator | undefined): void {
    this.drops.attach(invalidate);
  }

  get supported(): boolean {
    return this.drops.supported;
  }

  /**
   * `key` is in direct mode: an operation of it was served under a DIRECT
   * token here, or another host asks for it under DIRECT (a revoke wants
   * it). An open of it made now would be a cached one whose every read(2)
   * takes the token back from the other hosts.
   */
  sawDirect(key: string): void {
    this.recentDirect.saw(key);
  }

  /** False while `key` is, or was lately, contended: its opens are direct_io. */
  mayCache(key: string): boolean {
    return !this.recentDirect.isRecent(key);
  }

  /**
   * A cached open of `key` is being answered: whether the kernel may keep
   * the pages it has (keep_cache), which it may only when every one of them
   * is covered by a token still held. Otherwise the kernel drops them at
   * this open (no attr_version bump). Stray stays stray: a READ under
   * DIRECT in flight meanwhile may install its page after that drop.
   */
  opened(key: string, ino: number, writable = false): boolean {
    const st = this.stateOf(key, ino);
    st.cachedOpens++;
    if (writable) st.writableOpens++;
    // Nothing recorded: whatever the kernel has (if anything) came from before this record; it goes.
    const keep = !st.stray && st.under.size > 0 && [...st.under].every(coversKernelPages);
    if (!keep) {
      st.under.clear();
      st.generation++;
    }
    return keep;
  }

  released(key: string, writable = false): void {
    const st = this.files.get(key);
    if (!st) return;
    st.cachedOpens = Math.max(0, st.cachedOpens - 1);
    if (writable) st.writableOpens = Math.max(0, st.writableOpens - 1);
    this.maybeDelete(key, st);
  }

  /**
   * The kernel may hold pages of `key` no token covers (read under DIRECT):
   * its attributes get no timeout, so every read(2) asks for them and the
   * kernel drops those pages when size or mtime changed (AUTO_INVAL_DATA).
   */
  hasStray(key: string): boolean {
    return this.files.get(key)?.stray ?? false;
  }

  /**
   * A DIRECT data token of `key` is renewed even if unused while a cached
   * open may read pages read under DIRECT: a writer that leaves direct mode
   * must then revoke this host's token, whose revoke drops them first.
   */
  keepsDirect(key: string): boolean {
    const st = this.files.get(key);
    return st !== undefined && st.stray && st.cachedOpens > 0;
  }

  /** READs of `key` ask for the whole file while a cached open of it exists. */
  wholeFileReads(key: string): boolean {
    return (this.files.get(key)?.cachedOpens ?? 0) > 0;
  }

  /**
   * The mode READs of `key` ask for: WRITE while a cached read-write open
   * exists, so every page the kernel holds lies under this host's WRITE
   * token when a shared writable mapping dirties it (no request is made
   * then: FUSE's page_mkwrite asks no one).
   */
  readMode(key: string): 'READ' | 'WRITE' {
    return this.mapsWritable(key) ? 'WRITE' : 'READ';
  }

  /** A cached open of `key` is read-write: a shared mapping may hold dirty pages of it. */
  mapsWritable(key: string): boolean {
    return (this.files.get(key)?.writableOpens ?? 0) > 0;
  }

  /**
   * A WRITE through a cached read-write handle of `key` arrived: the
   * kernel put its bytes in pages before it sent it, with no READ. Counted
   * as a READ started and answered, so a pass that saw it repeats and a
   * write's drop is not skipped as if the kernel held no page.
   */
  pagesWritten(key: string): void {
    const st = this.files.get(key);
    if (!st) return;
    st.readsStarted++;
    st.readsAnswered++;
  }

  readStarting(key: string): ReadTicket | undefined {
    const st = this.files.get(key);
    if (!st) return undefined;
    st.readsStarted++;
    return this.local.ticket(key);
  }

  /** A READ of `key` was served under `token`: its pages are the kernel's now (they may be). */
  served(key: string, token: HeldToken): void {
    const st = this.files.get(key);
    if (!st) return;
    st.generation++;
    if (token.mode === 'DIRECT') this.sawDirect(key);
    if (coversKernelPages(token)) st.under.add(token);
    else if (!st.stray) {
      st.stray = true;
      this.logger.debug('kernel pages read under a token that does not cover them', { resource: key, mode: token.mode });
    }
  }

  /**
   * A READ's reply went out. If a write of this host ran beside it, the
   * READ may have cached bytes older than the write, after the write's own
   * drop: drop again (revokes wait for this drop). Not while the file is
   * DIRECT (`direct`): another host's DIRECT write revokes nothing, so this
   * drop could race the GETATTR of a later read(2) and lose the size it
   * brings; read(2) revalidates by mtime there, which the write changed.
   */
  readAnswered(key: string, ticket: ReadTicket | undefined, direct = false): void {
    const st = this.files.get(key);
    if (st && ticket && ++st.readsAnswered >= st.readsStarted) for (const settled of st.onSettled.splice(0)) settled();
    if (!st || (!this.closed && (!ticket || direct || !this.local.ranBeside(key, ticket)))) return;
    this.drops.afterRead(st, () => this.maybeDelete(key, st));
  }

  /**
   * A data token `t` of a file the kernel may cache is about to be blocked
   * and given up (wholly or in part): drop the file's pages in passes until
   * one saw no READ of the file start, so the caller can block the token in
   * the same tick. A pass waits only on READs holding page locks, which `t`
   * (still usable) serves. Whole-file caching tokens, and any whole-file
   * data token while stray pages exist or a cached open may read under it:
   * pages read under an uncached grant or under DIRECT lie under nothing
   * else, and a shared mapping of them is revalidated by nothing else
   * (page faults send no GETATTR); a READ in flight under the token may
   * make them stray only after this check began (chaos register-mmap). A
   * DIRECT token is revoked (not renewed) only for a caching token
   * elsewhere. Not for a part of the file: the READs a pass waits on ask
   * for the whole file, and such a token does not serve them.
   */
  beforeGiveUp(t: HeldToken): Promise<void> {
    const st = this.files.get(t.resource);
    const wholeFile = t.range.start === 0 && t.range.end === END_OF_FILE;
    const strayUnder = st !== undefined && (st.stray || st.cachedOpens > 0) && t.alive && t.space === 'data' && wholeFile;
    if (!st || (!coversKernelPages(t) && !strayUnder)) return Promise.resolve();
    return this.drops.inPasses(st, t, () => this.maybeDelete(t.resource, st));
  }

  /** A new grant made `t` smaller than the whole file without a revoke: the kernel drops what it read under it. */
  shrunk(t: HeldToken): void {
    const st = this.files.get(t.resource);
    if (!st || !st.under.delete(t)) return;
    st.generation++;
    st.stray = true;
    this.lost(t.resource);
  }

  /** A token was lost without a revoke, or the session is gone: nothing it covered may stay. */
  lost(key: string): void {
    const st = this.files.get(key);
    if (!st) return;
    const generation = st.generation;
    void this.drops.drop(st, 0, 0).then(() => {
      if (st.generation === generation) this.drops.forget(st);
      this.maybeDelete(key, st);
    });
  }

  lostAll(): void {
    for (const key of [...this.files.keys()]) this.lost(key);
  }

  /** The mount is going away (KernelCache.close): every file's pages go, and so will those of READs still answered. */
  async closing(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.files.values()].map((st) => this.drops.drop(st, 0, 0)));
  }

  private stateOf(key: string, ino: number): FilePagesState {
    let st = this.files.get(key);
    if (!st) {
      st = newFilePagesState(ino);
      this.files.set(key, st);
    }
    return st;
  }

  /**
   * Kept while a cached open, a drop or a token may still concern pages:
   * bounded by the open files and the held tokens. Stray pages need no
   * record once no cached open is left: only an open reaches pages, and an
   * open with no record is answered without keep_cache.
   */
  private maybeDelete(key: string, st: FilePagesState): void {
    if (st.cachedOpens > 0 || st.pendingDrop) return;
    for (const t of st.under) if (!t.alive) st.under.delete(t);
    if (st.under.size > 0) return;
    this.files.delete(key);
    this.local.recordGone(key);
  }
}
