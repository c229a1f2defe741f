import type { Logger } from '../../common/logger';
import type { FilePagesState } from './kernel-file-pages';
import type { HeldToken } from './held-token';

/** Drops the pages the kernel caches of backing inode `ino` in [offset, offset + length) (length 0: to the end; notify_inval_inode). */
export type PageInvalidator = (ino: number, offset: number, length: number) => Promise<void>;

/** Passes of one revoke before it answers with pages possibly cached (a hot reader; logged). */
export const MAX_PAGE_PASSES = 16;

/** Before a pass, READs of the file in flight are waited for at most this long (page-dropper.ts, inPasses). */
export const READ_SETTLE_MAX_MS = 50;

/** After they were answered, this long for their readers to take the pages before the pass drops them. */
export const READ_SETTLE_PAUSE_MS = 2;

/**
 * How KernelPages drops a file's pages from the kernel (through the
 * attached PageInvalidator): at once, after READs' replies (chained, so a
 * revoke can wait for them), or in passes before a token is given up.
 * Which pages must go, and when, is KernelPages' decision (kernel-pages.ts).
 */
export class PageDropper {
  private invalidate: PageInvalidator | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly plantSkipInvalidation: boolean,
    /** Waits `ms` on the agent's clock. */
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  /** Where drops go (undefined: no mount, nothing is cached). */
  attach(invalidate: PageInvalidator | undefined): void {
    this.invalidate = invalidate;
  }

  get supported(): boolean {
    return this.invalidate !== undefined;
  }

  /** Drops reach the kernel (a mount is attached and no planted bug skips them). */
  get enabled(): boolean {
    return this.invalidate !== undefined && !this.plantSkipInvalidation;
  }

  async drop(st: FilePagesState, offset: number, length: number): Promise<void> {
    if (this.invalidate === undefined || this.plantSkipInvalidation) return;
    const reads = st.readsStarted;
    try {
      await this.invalidate(st.ino, offset, length);
      if (offset === 0 && length === 0 && reads > st.cleanAt) st.cleanAt = reads;
    } catch (e) {
      this.logger.error('kernel page invalidation failed', { ino: st.ino, error: (e as Error).message });
    }
  }

  /** Drops the whole file after a READ's reply, chained after the drops before it (st.pendingDrop); `idle` once none is left. */
  afterRead(st: FilePagesState, idle: () => void): void {
    // A drop that already began may have passed this READ's page: only one not begun yet covers it.
    if (st.dropQueued) return;
    st.dropQueued = true;
    const drop = (st.pendingDrop ?? Promise.resolve())
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        st.dropQueued = false;
        return this.drop(st, 0, 0);
      });
    const tracked: Promise<void> = drop.finally(() => {
      if (st.pendingDrop !== tracked) return;
      st.pendingDrop = undefined;
      idle();
    });
    st.pendingDrop = tracked;
  }

  /**
   * After the drops chained after READs, drops the file's pages in passes
   * until one saw no READ of the file start (then `t` no longer holds them,
   * and `settled` runs in the same tick), at most MAX_PAGE_PASSES.
   */
  async inPasses(st: FilePagesState, t: HeldToken, settled: () => void): Promise<void> {
    if (st.pendingDrop) await st.pendingDrop;
    for (let pass = 1; pass <= MAX_PAGE_PASSES; pass++) {
      await this.readsSettled(st);
      const reads = st.readsStarted;
      const generation = st.generation;
      await this.drop(st, 0, 0);
      if (st.readsStarted === reads) {
        if (st.generation === generation) this.forget(st);
        else st.under.delete(t);
        settled();
        return;
      }
    }
    this.logger.warn('reads kept coming while the kernel dropped a file\'s pages; answering anyway', { resource: t.resource, passes: MAX_PAGE_PASSES });
    st.under.delete(t);
  }

  /** A whole-file drop that no READ raced took every page: nothing is under a token or stray any more. */
  forget(st: FilePagesState): void {
    if (st.stray) this.logger.debug('kernel pages no token covered are gone', { ino: st.ino });
    st.under.clear();
    st.stray = false;
    st.generation++;
  }

  /**
   * Before a pass: READs of the file in flight are answered, and their
   * readers had READ_SETTLE_PAUSE_MS to take the pages. A drop that runs
   * while a READ holds its page lock waits for it and takes the page as
   * soon as it is unlocked, before the reader (a page fault of a mapping,
   * a read(2)) got it; the reader then reads again, that READ meets the
   * next pass's drop, and so on: chaos showed runs of 7 passes each seeing
   * one READ, and a revoke that gave up after MAX_PAGE_PASSES, leaving the
   * last page cached after the other host's write (a stale mapping read).
   * Bounded (READ_SETTLE_MAX_MS): the pass's own drop waits for such READs anyway.
   */
  private async readsSettled(st: FilePagesState): Promise<void> {
    if (st.readsAnswered >= st.readsStarted) return;
    await Promise.race([new Promise<void>((resolve) => st.onSettled.push(resolve)), this.sleep(READ_SETTLE_MAX_MS)]);
    await this.sleep(READ_SETTLE_PAUSE_MS);
  }
}
