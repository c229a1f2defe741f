import type { FileRef, FilePages } from './page';

/** fdatasync of a file through its open handle (CoherencyBacking.datasync). */
export type SyncFn = (file: FileRef) => Promise<void>;

/** Default bytes flushed between two early syncs of one file. */
export const EARLY_SYNC_BYTES = 8 * 1024 * 1024;

/**
 * Write-back's early syncs: a file that had `bytes` flushed since its last
 * one is fdatasync'ed inside the flush (so release and fsync, which wait
 * for the file's flushes, wait for it too). Why: the kernel starts writing
 * dirty pages back only past dirty_background_ratio (GiBs on a big host),
 * so an application's fsync after a stream had to write all of it at once
 * (~0.5 ms per MiB at the end of P6's 256 MiB write); synced every few MiB,
 * the stream goes to disk while it arrives. A failure is thrown to the
 * flush, which makes it the file's error (the next fsync reports it).
 */
export class EarlySync {
  /** Per file, bytes flushed since its last early sync (goes with the file's pages). */
  private readonly unsynced = new WeakMap<FilePages, number>();
  /** Early syncs started so far. */
  count = 0;

  constructor(private readonly syncFn: SyncFn, private readonly bytes = EARLY_SYNC_BYTES) {
    if (!Number.isFinite(bytes) || bytes <= 0) throw new RangeError('earlySyncBytes must be positive');
  }

  /** Call after `flushed` bytes of `file` were written; resolves once a due sync is done. */
  async flushed(file: FilePages, flushed: number): Promise<void> {
    const total = (this.unsynced.get(file) ?? 0) + flushed;
    if (total < this.bytes) {
      this.unsynced.set(file, total);
      return;
    }
    this.unsynced.delete(file);
    this.count++;
    await this.syncFn(file.ref);
  }
}
