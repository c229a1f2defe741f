import { AddonDirEntry, AddonEntry, AddonOpenOptions, AddonStat } from './fuse-addon';
import { FuseLock } from './fuse-request';

/** Who asked, and a signal aborted by FUSE_INTERRUPT (lock waits) or by unmount. */
export interface RequestContext {
  uid: number;
  gid: number;
  pid: number;
  umask: number;
  signal: AbortSignal;
  /** The request's place in the kernel's queue order (drop-marks.ts), when the session numbers them. */
  seq?: number;
}

export interface AttrReply { attr: AddonStat; attrTimeout: number }
export interface OpenReply extends AddonOpenOptions { fh: number }

/** What setattr changes; absent fields stay. Times: nanoseconds since the epoch, or 'now'. */
export interface AttrChanges {
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  atime?: { sec: number; nsec: number } | 'now';
  mtime?: { sec: number; nsec: number } | 'now';
}

/** A readdirplus batch; `sent(n)` is told how many entries the kernel took (lookup references). */
/** The destination of a copy_file_range: its node, open handle and offset. */
export interface CopyTarget { ino: number; fh: number; offset: number }
export interface DirBatch { entries: AddonDirEntry[]; sent(count: number): void }

export interface StatfsReply {
  bsize: number | bigint; frsize?: number | bigint; blocks: number | bigint; bfree: number | bigint;
  bavail: number | bigint; files: number | bigint; ffree: number | bigint; namemax?: number;
}

/**
 * The filesystem behind a low-level session: every method answers one
 * kernel request (throw an errno-coded or domain error to refuse). A
 * missing method answers ENOSYS. Node ids (`ino`) are the filesystem's own
 * (1 = root); each entry answered with a non-zero ino takes one lookup
 * reference the kernel later returns through forget.
 */
export interface LowLevelOps {
  lookup?(ctx: RequestContext, parent: number, name: string): Promise<AddonEntry>;
  forget?(ino: number, nlookup: number): void;
  getattr?(ctx: RequestContext, ino: number, fh?: number): Promise<AttrReply>;
  setattr?(ctx: RequestContext, ino: number, changes: AttrChanges, fh?: number): Promise<AttrReply>;
  readlink?(ctx: RequestContext, ino: number): Promise<string>;
  mknod?(ctx: RequestContext, parent: number, name: string, mode: number, rdev: number): Promise<AddonEntry>;
  mkdir?(ctx: RequestContext, parent: number, name: string, mode: number): Promise<AddonEntry>;
  unlink?(ctx: RequestContext, parent: number, name: string): Promise<void>;
  rmdir?(ctx: RequestContext, parent: number, name: string): Promise<void>;
  symlink?(ctx: RequestContext, parent: number, name: string, target: string): Promise<AddonEntry>;
  rename?(ctx: RequestContext, parent: number, name: string, newParent: number, newName: string, flags: number): Promise<void>;
  link?(ctx: RequestContext, ino: number, newParent: number, newName: string): Promise<AddonEntry>;
  open?(ctx: RequestContext, ino: number, flags: number): Promise<OpenReply>;
  create?(ctx: RequestContext, parent: number, name: string, mode: number, flags: number): Promise<{ entry: AddonEntry; open: OpenReply }>;
  /** Resolves with the bytes read (length ≤ size). */
  read?(ctx: RequestContext, ino: number, fh: number, size: number, offset: number): Promise<Buffer>;
  /** `writeback`: the kernel writes back pages a shared writable mapping dirtied (FUSE_WRITE_CACHE), not a write(2). */
  write?(ctx: RequestContext, ino: number, fh: number, data: Buffer, offset: number, writeback: boolean): Promise<number>;
  flush?(ctx: RequestContext, ino: number, fh: number, owner: bigint): Promise<void>;
  release?(ctx: RequestContext, ino: number, fh: number, owner: bigint, flockRelease: boolean): Promise<void>;
  fsync?(ctx: RequestContext, ino: number, fh: number, datasync: boolean): Promise<void>;
  fallocate?(ctx: RequestContext, ino: number, fh: number, mode: number, offset: number, length: number): Promise<void>;
  /** SEEK_DATA / SEEK_HOLE from `offset`: the offset found (ENXIO past the data, as lseek(2)). */
  lseek?(ctx: RequestContext, ino: number, fh: number, offset: number, whence: number): Promise<number>;
  /**
   * copy_file_range from (ino, fh, offset) to (out.ino, out.fh, out.offset): the bytes copied (short at the
   * source's end, or when the ops copy less per request). Absent: ENOSYS, and the kernel never asks again
   * on this mount (it copies through READ and WRITE); reject with EOPNOTSUPP to fall back for one call only.
   */
  copyFileRange?(ctx: RequestContext, ino: number, fh: number, offset: number, out: CopyTarget, length: number, flags: number): Promise<number>;
  opendir?(ctx: RequestContext, ino: number, flags: number): Promise<OpenReply>;
  readdirplus?(ctx: RequestContext, ino: number, fh: number, size: number, offset: number): Promise<DirBatch>;
  releasedir?(ctx: RequestContext, ino: number, fh: number): Promise<void>;
  fsyncdir?(ctx: RequestContext, ino: number, fh: number, datasync: boolean): Promise<void>;
  statfs?(ctx: RequestContext, ino: number): Promise<StatfsReply>;
  setxattr?(ctx: RequestContext, ino: number, name: string, value: Buffer, flags: number): Promise<void>;
  /** size 0 asks for the size: resolve with a number then (or the value; its length is sent). */
  getxattr?(ctx: RequestContext, ino: number, name: string, size: number): Promise<Buffer | number>;
  listxattr?(ctx: RequestContext, ino: number, size: number): Promise<Buffer | number>;
  removexattr?(ctx: RequestContext, ino: number, name: string): Promise<void>;
  access?(ctx: RequestContext, ino: number, mask: number): Promise<void>;
  /** Resolves with the conflicting lock, or type F_UNLCK. */
  getlk?(ctx: RequestContext, ino: number, fh: number, owner: bigint, lock: FuseLock): Promise<FuseLock>;
  /** sleep: F_SETLKW (wait, abortable through ctx.signal); else F_SETLK (EAGAIN on conflict). */
  setlk?(ctx: RequestContext, ino: number, fh: number, owner: bigint, lock: FuseLock, sleep: boolean): Promise<void>;
  /** op: LOCK_SH/LOCK_EX/LOCK_UN, maybe | LOCK_NB. */
  flock?(ctx: RequestContext, ino: number, fh: number, owner: bigint, op: number): Promise<void>;
}
