import type { ReadTicket } from './local-writes';

/**
 * What the FUSE layer does for the coherency layer (docs/fuse.md, "Kernel
 * cache"): drop what the kernel caches of a backing inode. Every call runs
 * on the session's notify thread and resolves once the kernel has dropped
 * it (or holds nothing to drop).
 */
export interface KernelInvalidator {
  /** The kernel's cached attributes of backing inode `ino` (notify_inval_inode, offset -1: no page lock taken). */
  attrs(ino: number): Promise<void>;
  /** Every inode's cached attributes (the session that allowed them is gone). */
  allAttrs(): Promise<void>;
  /** Every name the kernel caches (FUSE_NOTIFY_INC_EPOCH: synchronous, no lock taken). */
  entries(): void;
  /** The pages the kernel caches of backing inode `ino` in [offset, offset + length), length 0: to the end (notify_inval_inode: waits for page locks). */
  pages(ino: number, offset: number, length: number): Promise<void>;
}

/** The link between the token cache and the kernel cache of one mount. */
export interface KernelCacheLink {
  /** True while the kernel may cache the attributes of backing inode `ino` (attr READ/WRITE held, no revoke running, not DIRECT). */
  attrsCacheable(ino: number): boolean;
  /**
   * The dir token under which the kernel may keep the names in directory
   * `ino`, and its size, times and link count (dir READ or WRITE, no revoke
   * running): another host changes them only under dir WRITE, which revokes
   * this host's token first. Taken before a lookup; if it still holds when
   * the reply is made, nobody changed the directory in between.
   */
  entriesHold(ino: number): EntriesHold | undefined;
  /**
   * The attr token (READ or WRITE, not DIRECT) this host holds of file
   * `ino`, if any: another host changes the file's attributes and xattrs
   * only under attr WRITE, which revokes it first.
   */
  attrHold(ino: number): EntriesHold | undefined;
  /** A lookup in directory `ino` found no dir token: ask for dir READ in the background (not soon after losing one). */
  wantEntries(ino: number): void;
  /**
   * Milliseconds left before this host's lease deadline. A paused agent
   * cannot invalidate anything, so no timeout may outlive the deadline:
   * past it another host may be given the token.
   */
  leaseLeftMs(): number;
  /** The mount's invalidator (undefined once it is unmounted). */
  attach(invalidator: KernelInvalidator | undefined): void;
  /** The mount is going away: nothing new is kept, everything the kernel cached goes (before the tokens do). */
  close(): Promise<void>;
  /**
   * An O_RDONLY (or, `writable`, O_RDWR) open of regular file `ino` is
   * being answered: undefined when it must be direct_io (DIRECT or
   * uncached now, or no mount), else whether the kernel may keep the pages
   * it has (kernel-pages.ts).
   */
  openCached(ino: number, writable?: boolean): { keepCache: boolean } | undefined;
  /**
   * Before a cached O_RDWR open of `ino` is answered: this host holds data
   * WRITE over the whole file (asked for if need be), so the kernel's pages
   * lie under it before a shared writable mapping can dirty one. False:
   * not held (DIRECT, refused), the open must be direct_io.
   */
  holdForMapping(ino: number, signal: AbortSignal): Promise<boolean>;
  /** A cached open of `ino` was released. */
  releasedCached(ino: number, writable?: boolean): void;
  /** A READ of `ino` reached the agent (counted before it is served: see KernelPages.beforeGiveUp). */
  readStarting(ino: number): ReadTicket | undefined;
  /** That READ's reply was sent. */
  readAnswered(ino: number, ticket: ReadTicket | undefined): void;
  /** A cached open of `ino` is read-write (a shared mapping may hold dirty pages). */
  mapsWritable(ino: number): boolean;
  /** A WRITE through a cached read-write handle of `ino` arrived (its bytes are in the kernel's pages already). */
  pagesWritten(ino: number): void;
  /**
   * A WRITE of `ino` reached the agent; `written` once it is done, awaited
   * before its reply. `beforeDrop` runs before the write's page drop, if
   * one is made (KernelPages.written).
   */
  writeStarting(ino: number): void;
  written(ino: number, offset: number, length: number, beforeDrop?: () => Promise<void>): Promise<void>;
  /** A truncate of `ino` to `size` (announced by writeStarting) is done, not answered yet: the kernel's pages from `size` on go. */
  truncated(ino: number, size: number): Promise<void>;
}

/** See KernelCacheLink.entriesHold. */
export interface EntriesHold {
  /** The same token is still held and no revoke of it runs. */
  holds(): boolean;
}
