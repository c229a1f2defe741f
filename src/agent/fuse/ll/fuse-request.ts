/** The names of the requests the addon posts (to-js.c's OP_NAMES). */
export type FuseOpName =
  | 'lookup' | 'forget' | 'getattr' | 'setattr' | 'readlink' | 'mknod' | 'mkdir' | 'unlink' | 'rmdir'
  | 'symlink' | 'rename' | 'link' | 'open' | 'read' | 'write' | 'flush' | 'release' | 'fsync' | 'opendir'
  | 'readdirplus' | 'releasedir' | 'fsyncdir' | 'statfs' | 'setxattr' | 'getxattr' | 'listxattr'
  | 'removexattr' | 'access' | 'create' | 'getlk' | 'setlk' | 'flock' | 'fallocate' | 'interrupt' | 'closed'
  | 'lseek' | 'copy_file_range';

/** A posix lock as the kernel sends it (start/len, len 0 = to the end). */
export interface FuseLock { type: number; start: number; len: number; pid: number }

/**
 * One kernel request as the addon hands it over. Which fields mean
 * something depends on `op` (see to-js.c); `ino` is the parent for ops
 * that name an entry, `ino2` the new parent (rename, link).
 */
export interface FuseRequest {
  op: FuseOpName;
  id: number;
  ino: number;
  name?: string;
  /** rename: the new name; symlink: the target. */
  name2?: string;
  ino2?: number;
  uid: number; gid: number; pid: number; umask: number;
  mode: number;
  /** open/create/write/…: the op's flags; closed: why the loop ended (0 or -ENODEV when unmounted or aborted, another -errno when reading failed). */
  flags: number;
  fh: number; hasFh: boolean;
  size: number; offset: number;
  nlookup?: number; rdev?: number; datasync?: boolean; mask?: number; length?: number;
  /** lseek: SEEK_DATA (3) or SEEK_HOLE (4); the kernel answers the others itself. */
  whence?: number;
  /** copy_file_range: `ino`/`fh`/`offset` are the source's, these the destination's (its inode is `ino2`); `length`, `flags`. */
  fhOut?: number; offsetOut?: number;
  /** setattr */
  valid?: number; attrMode?: number; attrUid?: number; attrGid?: number; attrSize?: number;
  atimeSec?: number; atimeNsec?: number; mtimeSec?: number; mtimeNsec?: number;
  /** lock ops, flush, release */
  owner?: bigint; sleep?: boolean; flockRelease?: boolean; lock?: FuseLock;
  /** write: the kernel writes back pages of its page cache (a shared writable mapping's), not a write(2) */
  writeback?: boolean;
  /** write, setxattr: owned by this request's Buffer */
  data?: Buffer;
}

/** FUSE_SET_ATTR_* bits (fuse_lowlevel.h). */
export const SetAttr = {
  MODE: 1 << 0, UID: 1 << 1, GID: 1 << 2, SIZE: 1 << 3, ATIME: 1 << 4, MTIME: 1 << 5,
  ATIME_NOW: 1 << 7, MTIME_NOW: 1 << 8, CTIME: 1 << 10,
} as const;
