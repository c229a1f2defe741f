import type { Logger } from '../../common/logger';
import type { FilePagesState } from './kernel-file-pages';
import { LocalWrites, type ReadTicket } from './local-writes';
import type { PageDropper } from './page-dropper';

/**
 * This host's own changes of files the kernel caches (docs/fuse.md, "This
 * host's writes"): a write or truncate drops what the kernel holds of the
 * bytes it changed before it is answered (and, through the op's
 * beforeRelease, before its tokens go: kernel-copy-drop.ts), and a READ
 * that ran beside one is dropped after its reply (KernelPages.readAnswered).
 */
export class LocalChanges {
  private readonly writes: LocalWrites;

  constructor(
    private readonly files: ReadonlyMap<string, FilePagesState>,
    private readonly drops: PageDropper,
    private readonly logger: Logger,
  ) {
    this.writes = new LocalWrites((key) => files.has(key));
  }

  /** A change of `key` is starting (a write through any handle, a truncate); `written` or `truncated` follows, whatever its outcome. */
  starting(key: string): void {
    this.writes.starting(key);
  }

  ticket(key: string): ReadTicket {
    return this.writes.ticket(key);
  }

  ranBeside(key: string, ticket: ReadTicket): boolean {
    return this.writes.ranBeside(key, ticket);
  }

  recordGone(key: string): void {
    this.writes.recordGone(key);
  }

  /**
   * The write done, before its reply: the kernel drops the bytes it wrote
   * (so this host's next read(2) asks for them). Not when the kernel holds
   * no page of the file: the drop would bump the inode's attr_version for
   * nothing, and a GETATTR of a read(2) in flight, waiting for the same
   * token grant as this write, would lose the size another host's write
   * gave the file (docs/chaos.md, "Page-cache runs"). When the drop is
   * made, `beforeDrop` runs first: the FUSE side gives the kernel the
   * file's size there (notify_store of its last byte), which a GETATTR
   * discarded because of this drop would otherwise have brought.
   */
  written(key: string, offset: number, length: number, beforeDrop?: () => Promise<void>): Promise<void> {
    return this.changed(key, length > 0 ? { offset, length } : undefined, beforeDrop);
  }

  /**
   * The truncate to `size` done, before its reply: the kernel drops its
   * pages from there on. It would itself, but only at the reply, after the
   * truncate's tokens went. Not while a read-write cached open exists: the
   * kernel holds FUSE_NOWRITE while a SETATTR of the size is out, and a
   * drop that meets a page a mapping dirtied writes it back first, which
   * would wait for that SETATTR's reply (fuse_do_setattr says as much of
   * its own invalidation); the kernel drops them at the reply, as before.
   * (A read-write open made during the truncate can still meet this: the
   * hold on the tokens ends at its bound and the SETATTR is answered
   * without waiting for this drop, kernel-copy-change.ts.)
   */
  truncated(key: string, size: number): Promise<void> {
    const dirtiable = (this.files.get(key)?.writableOpens ?? 0) > 0;
    return this.changed(key, dirtiable ? undefined : { offset: size, length: 0 });
  }

  /** `range.length` 0: to the end of the file. */
  private async changed(key: string, range: { offset: number; length: number } | undefined, beforeDrop?: () => Promise<void>): Promise<void> {
    const st = this.files.get(key);
    try {
      if (st && range && st.readsStarted !== st.cleanAt && this.drops.enabled) {
        if (beforeDrop) await beforeDrop().catch((e: Error) => this.logger.warn('kernel size store before a page drop failed', { resource: key, error: e.message }));
        await this.drops.drop(st, range.offset, range.length);
      }
    } finally {
      this.writes.done(key);
    }
  }
}
