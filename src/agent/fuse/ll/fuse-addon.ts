import { loadNativeAddon } from '../../../common/native-addon';
import { FuseRequest } from './fuse-request';

/** A session handle (an N-API external); only the addon looks inside. */
export type SessionHandle = { readonly __coherdFuseSession: unique symbol };

/** Stat fields as the addon reads them: Numbers or BigInts (fs.Stats or fs.BigIntStats both fit). */
export interface AddonStat {
  ino: number | bigint; mode: number | bigint; nlink: number | bigint; uid: number | bigint; gid: number | bigint;
  rdev: number | bigint; size: number | bigint; blksize: number | bigint; blocks: number | bigint;
  atimeNs?: bigint; mtimeNs?: bigint; ctimeNs?: bigint;
  atimeMs?: number | bigint; mtimeMs?: number | bigint; ctimeMs?: number | bigint;
}

/** A lookup answer: `ino` is the FUSE node id (0 = negative entry, cached entryTimeout seconds). */
export interface AddonEntry {
  ino: number; generation: number; attr?: AddonStat; attrTimeout: number; entryTimeout: number;
}

export interface AddonDirEntry extends AddonEntry { name: string; off: number }

export interface AddonOpenOptions { keepCache?: boolean; directIo?: boolean; nonseekable?: boolean; cacheReaddir?: boolean }

/**
 * The C addon (src/agent/fuse/native). Reply functions return false when
 * the id is no longer pending (already answered, interrupted and failed at
 * unmount): the caller has nothing left to do then.
 */
export interface FuseAddon {
  mount(mountPoint: string, options: string, dispatch: (req: FuseRequest) => void, flags: { locks: boolean }): SessionHandle;
  /** Stops the loop, fails unanswered requests with EIO, unmounts (lazily), frees the session; returns how many it failed. */
  unmount(session: SessionHandle): number;
  /** The session's /dev/fuse descriptor (for the cache fence), or -ENOTCONN once unmounted. */
  sessionFd(session: SessionHandle): number;
  replyErr(id: number, errno: number): boolean;
  replyEntry(id: number, entry: AddonEntry): boolean;
  replyAttr(id: number, attr: AddonStat, attrTimeout: number): boolean;
  replyOpen(id: number, fh: number, options: AddonOpenOptions): boolean;
  replyCreate(id: number, entry: AddonEntry, fh: number, options: AddonOpenOptions): boolean;
  replyWrite(id: number, count: number): boolean;
  replyLseek(id: number, offset: number): boolean;
  replyXattrSize(id: number, size: number): boolean;
  replyReadlink(id: number, target: string): boolean;
  replyStatfs(id: number, st: Record<string, number | bigint>): boolean;
  replyLock(id: number, lock: { type: number; start: number; len: number; pid: number }): boolean;
  replyBuf(id: number, data: Buffer, length: number): boolean;
  /** Returns how many entries the kernel got (each with a non-zero ino took a lookup reference), or -1. */
  replyDirplus(id: number, size: number, entries: AddonDirEntry[]): number;
  notifyInvalInode(session: SessionHandle, ino: number, offset: number, length: number): Promise<number>;
  notifyInvalEntry(session: SessionHandle, parent: number, name: string): Promise<number>;
  notifyDelete(session: SessionHandle, parent: number, child: number, name: string): Promise<number>;
  /** FUSE_NOTIFY_STORE on the notify thread: caches `data` (1 byte to 1 MiB, copied) at `offset` and grows i_size to its end. */
  notifyStore(session: SessionHandle, ino: number, offset: number, data: Buffer): Promise<number>;
  /** Synchronous: 0, or -errno (-EINVAL on a kernel before 6.16). */
  notifyIncEpoch(session: SessionHandle): number;
  sys: SysCalls;
}

/** System calls Node's fs lacks; each returns 0 (or a size/Buffer) or -errno. */
export interface SysCalls {
  rename2(from: string, to: string, flags: number): number;
  mknod(path: string, mode: number, dev: number): number;
  /** nofollow: the l*xattr variants (a final symlink is not followed). */
  getxattr(path: string, name: string, size: number, nofollow: boolean): Buffer | number;
  listxattr(path: string, size: number, nofollow: boolean): Buffer | number;
  setxattr(path: string, name: string, value: Buffer, flags: number, nofollow: boolean): number;
  removexattr(path: string, name: string, nofollow: boolean): number;
  utimens(target: number | string, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): number;
  fchown(fd: number, uid: number, gid: number): number;
  fallocate(fd: number, mode: number, offset: number, length: number): number;
  linkat(from: string, to: string): number;
  readlinkFd(fd: number): string | number;
  /** The same calls on libuv's thread pool (sys-async.c): the JS thread does not wait for the backing store. */
  rename2Async(from: string, to: string, flags: number): Promise<number>;
  mknodAsync(path: string, mode: number, dev: number): Promise<number>;
  fallocateAsync(fd: number, mode: number, offset: number, length: number): Promise<number>;
  lseekAsync(fd: number, offset: number, whence: number): Promise<number>;
  /** copy_file_range(2) at explicit offsets, continued over short copies up to `length` or the source's end: bytes copied, or -errno when none. */
  copyFileRangeAsync(fdIn: number, offsetIn: number, fdOut: number, offsetOut: number, length: number): Promise<number>;
  /** The l*xattr variants only (a final symlink is never followed). */
  lgetxattrAsync(path: string, name: string, size: number): Promise<Buffer | number>;
  llistxattrAsync(path: string, size: number): Promise<Buffer | number>;
  lsetxattrAsync(path: string, name: string, value: Buffer, flags: number): Promise<number>;
  lremovexattrAsync(path: string, name: string): Promise<number>;
  /** utimensat(path, AT_SYMLINK_NOFOLLOW) with exact times (nsec in [0, 999999999]): 0 or -errno. */
  lutimensAsync(path: string, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): Promise<number>;
}

let loaded: FuseAddon | null = null;

/** Loads build/Release/coherd_fuse.node (built by node-gyp at npm ci). */
export function loadFuseAddon(): FuseAddon {
  loaded ??= loadNativeAddon<FuseAddon>('coherd_fuse.node');
  return loaded;
}
