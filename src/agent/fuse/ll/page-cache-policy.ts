import type { ReadTicket } from '../../coherency/local-writes';
import type { InodeNotifier } from './kernel-attr-cache';
import type { PathNode } from './path-node-table';

/** How an open is answered: direct_io, or through the kernel's page cache (keeping what it has, or not). */
export interface OpenCaching {
  directIo: boolean;
  keepCache?: boolean;
}

/** What the agent's low-level ops ask of the page cache policy (vop-low-level-ops.ts). */
export interface PageCachePolicy {
  /** An open of `node` with `flags` succeeded with handle `fh`: how to answer it (`signal`: the open's). */
  opened(node: PathNode, flags: number, fh: number, signal: AbortSignal): Promise<OpenCaching>;
  released(fh: number): void;
  /**
   * A WRITE of `node` through handle `fh` arrived: true when `fh` is a
   * cached read-write handle (the kernel's pages hold its bytes already).
   */
  cachedWrite(node: PathNode, fh: number): boolean;
  /** Before a WRITE through a direct_io handle: pages a shared mapping dirtied in its range are written back first. */
  beforeUncachedWrite(node: PathNode, offset: number, length: number): Promise<void>;
  readStarting(node: PathNode): ReadTicket | undefined;
  readAnswered(node: PathNode, ticket: ReadTicket | undefined): void;
  writeStarting(node: PathNode): void;
  /**
   * A WRITE of `node` is done and not answered yet: the kernel drops the
   * bytes it wrote. When it does, `tail` is asked first for the file's
   * size and last byte (read through `readHandle`), which the kernel is
   * given before the drop (KernelPageCache.storeTail).
   */
  written(node: PathNode, offset: number, length: number, tail?: FileTailReader): Promise<void>;
  /** A truncate of `node` to `size` (announced by writeStarting) is done, not answered yet: the kernel drops its pages from there. */
  truncated(node: PathNode, size: number): Promise<void>;
  /**
   * A GETATTR of `node` (request `seq`) is being served; the result's
   * `beforeReply` runs before its reply, then `done`.
   */
  attrRequest(node: PathNode, seq: number | undefined): AttrReplyGuard;
}

/** What a GETATTR does before its reply (KernelPageCache.attrRequest). */
export interface AttrReplyGuard {
  /** The reply says `size`; `lastByte` reads the byte before it through a cached read handle. */
  beforeReply(size: number, lastByte: LastByteReader): Promise<void>;
  done(): void;
}

/** Byte `offset` of the file through read handle `readFh`; undefined when there is none (the file shrank). */
export type LastByteReader = (readFh: number, offset: number) => Promise<Buffer | undefined>;

/** The file's size and its last byte as this host's agent answers them now; undefined: empty, or unknown. */
export type FileTailReader = (readHandle: number) => Promise<{ size: number; last: Buffer } | undefined>;

/** What the page cache sends the kernel: drops, and stores (FuseSession). */
export interface PageNotifier extends InodeNotifier {
  storeInode(ino: number, offset: number, data: Buffer): Promise<number>;
}
