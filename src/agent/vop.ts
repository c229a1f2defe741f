import type { FencingToken } from '../common/lock-shapes';

/**
 * A vop ("vnode operation", DESIGN §7) is one file operation as the agent's
 * hook chain sees it. The FUSE layer turns every kernel request into a vop
 * and runs it through `compose([journal, coherency, rangeLock], backing)`.
 */

/** Attributes of a file as the backing store reports them (lstat semantics). */
export interface VopStat {
  /** Backing store inode number: the resource id (`<namespace>/<ino>`). */
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  /** The times to the nanosecond, when the store said them (the *Ms fields are them rounded); the kernel gets these. */
  atimeNs?: bigint;
  mtimeNs?: bigint;
  ctimeNs?: bigint;
}

/** A time to the nanosecond, JSON-safe (journal records carry it): whole seconds since the epoch and nanoseconds. */
export interface TimeSpec {
  sec: number;
  nsec: number;
}

export interface VopStatfs {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

export interface VopDirEntry {
  name: string;
  /** Present unless the entry vanished between readdir and lstat. */
  stat?: VopStat;
}

/**
 * Arguments per op. `fh` is the backing store's file handle id (returned by
 * open/create). Buffers (`read.buffer`, `write.data`, `setxattr.value`) are
 * only valid until the vop settles: a hook that keeps data (write-back)
 * must copy it.
 */
export interface VopArgs {
  /**
   * seen: the path's attributes as read while finding its inode, during this
   * request and before any token was claimed; usable only where any moment
   * of the request is a valid read (DIRECT mode: the store itself is coherent).
   * expectIno (by path): the inode the caller means (its tokens are the ones
   * held); the store answers ESTALE if the path names another inode now.
   */
  getattr: { fh?: number; seen?: VopStat; expectIno?: number };
  access: { mode: number };
  statfs: Record<string, never>;
  readdir: Record<string, never>;
  opendir: { flags: number };
  releasedir: { fh: number };
  fsyncdir: { fh: number; datasync: boolean };
  open: { flags: number };
  /**
   * Creates and opens read-write. `flags`: the caller's open flags; without
   * O_EXCL in them an existing file is opened instead (its mode and owner
   * untouched, the result says `existed`). Absent flags: exclusive.
   */
  /**
   * expectParentIno: the inode the caller means as the directory (its dir
   * token is the one held); the store answers ESTALE, creating nothing, if
   * the parent path leads to another inode. Local: never journaled.
   */
  create: { mode: number; flags?: number; owner?: NewOwner; expectParentIno?: number };
  read: { fh: number; buffer: Buffer; length: number; offset: number };
  /** writeback: the kernel writes back pages a shared writable mapping dirtied (no write(2) waits on it). */
  write: { fh: number; data: Buffer; offset: number; writeback?: boolean };
  flush: { fh: number };
  fsync: { fh: number; datasync: boolean };
  release: { fh: number };
  truncate: { size: number; fh?: number };
  /** fallocate(2) on an open handle: mode 0 allocates (and extends), FALLOC_FL_* bits as Linux defines them. */
  fallocate: { fh: number; mode: number; offset: number; length: number };
  /** lseek(2) with SEEK_DATA (3) or SEEK_HOLE (4) on an open handle. */
  lseek: { fh: number; offset: number; whence: number };
  /**
   * copy_file_range(2) into the handle `fh` at `offset` (the vop's path and
   * ino are the destination's) from the handle `fhIn` of inode `inoIn` at
   * `offsetIn`, `length` bytes at most; `flags` must be 0.
   */
  copyFileRange: { fhIn: number; inoIn: number; offsetIn: number; fh: number; offset: number; length: number; flags: number };
  unlink: Record<string, never>;
  rmdir: Record<string, never>;
  /**
   * `destParentIno`: the directory that gains the entry (the source's is
   * `vop.parentIno`); `destIno`: the entry `dest` named before (replaced, or
   * swapped with RENAME_EXCHANGE); `flags`: RENAME_NOREPLACE (1) or
   * RENAME_EXCHANGE (2), absent for a plain rename.
   */
  rename: { dest: string; destParentIno?: number; destIno?: number; flags?: number };
  mkdir: { mode: number; owner?: NewOwner };
  mknod: { mode: number; dev: number; owner?: NewOwner };
  /** `vop.path` is the new link; `target` is stored verbatim and never resolved by the agent. */
  symlink: { target: string; owner?: NewOwner };
  readlink: Record<string, never>;
  /** `vop.path` is the existing file (`vop.ino`); `dest` is the new name. */
  link: { dest: string };
  chmod: { mode: number };
  /** -1 leaves the id unchanged. */
  chown: { uid: number; gid: number };
  /** atimeMs/mtimeMs, and the same to the nanosecond when known (journals written before them have only ms). */
  utimens: { atimeMs: number; mtimeMs: number; atime?: TimeSpec; mtime?: TimeSpec };
  /** flags: 0, XATTR_CREATE (1) or XATTR_REPLACE (2). */
  setxattr: { name: string; value: Buffer; flags: number };
  getxattr: { name: string };
  listxattr: Record<string, never>;
  removexattr: { name: string };
}

export type VopName = keyof VopArgs;

/**
 * Who owns a new entry: the calling process's uid and gid (the backing
 * store keeps the directory's group when the directory is setgid). Absent:
 * the agent's own user owns it.
 */
export interface NewOwner { uid: number; gid: number }

/** What the terminal (backing store) resolves with, per op. */
export interface VopResults {
  getattr: VopStat;
  access: void;
  statfs: VopStatfs;
  readdir: VopDirEntry[];
  opendir: void;
  releasedir: void;
  fsyncdir: void;
  open: { fh: number; ino: number };
  /** `existed`: the name was there already (create without O_EXCL opened it; nothing was created). */
  create: { fh: number; stat: VopStat; existed?: true };
  /** Bytes read into `args.buffer`. */
  read: number;
  /** Bytes written (always `data.length` on success). */
  write: number;
  flush: void;
  fsync: void;
  release: void;
  truncate: void;
  fallocate: void;
  /** The offset SEEK_DATA or SEEK_HOLE found. */
  lseek: number;
  /**
   * The bytes copied (short at the source's end, or when the store copies
   * less per call), and those bytes as the source held them (read back
   * under the same tokens: the journal carries them as a write).
   */
  copyFileRange: { copied: number; bytes: Buffer };
  unlink: void;
  rmdir: void;
  rename: void;
  mkdir: VopStat;
  mknod: VopStat;
  symlink: VopStat;
  readlink: string;
  link: VopStat;
  chmod: void;
  chown: void;
  utimens: void;
  setxattr: void;
  getxattr: Buffer;
  listxattr: string[];
  removexattr: void;
}

/** One op of a given kind. */
export interface VopOf<N extends VopName> {
  readonly op: N;
  /** Path inside the mount, '/'-rooted, as FUSE gives it. */
  readonly path: string;
  /** Inode of the file the op acts on, when it exists before the op. */
  ino?: number;
  /** Inode of the directory whose entries the op changes (create, unlink, rename source, link dest, …). */
  parentIno?: number;
  readonly args: VopArgs[N];
  /** Aborted when the mount goes away; hooks that wait (tokens, locks) must honour it. */
  readonly signal: AbortSignal;
  /**
   * Set in place by the hook that holds the protecting token or lock
   * (coherency), so outer hooks (journal) see it after `next` returns.
   */
  fencingToken?: FencingToken;
  /** Every token the op held, by resource (`<namespace>/<ino>`), when it held several (dir ops). */
  heldTokens?: Array<{ resource: string; space: string; fencingToken: FencingToken }>;
  /** Set by the coherency hook when the op ran under a DIRECT token (docs/direct-mode.md): hosts' ops were not ordered by tokens. */
  direct?: boolean;
  /**
   * Set by the FUSE layer on a write, copy_file_range or truncate: drops
   * the kernel's copy of the bytes it changed. The coherency hook runs it once
   * the bytes are written and before the op's tokens go
   * (kernel-copy-drop.ts); the FUSE layer runs it after the op if nothing
   * did (each run drops once).
   */
  beforeRelease?: () => Promise<void>;
}

/** Any vop: a union discriminated by `op`. */
export type Vop = { [N in VopName]: VopOf<N> }[VopName];
export type VopResult = VopResults[VopName];

/** Continues the chain; a hook calls it at most once. */
export type Next = (vop: Vop) => Promise<VopResult>;
/** A hook wraps the rest of the chain (DragonFly's vop_wrapper). */
export type Hook = (vop: Vop, next: Next) => Promise<VopResult>;
/** The end of the chain: performs the operation. */
export type Terminal = (vop: Vop) => Promise<VopResult>;
/** A composed chain, typed per op for callers. */
export type VopRunner = <N extends VopName>(vop: VopOf<N>) => Promise<VopResults[N]>;

/** Ops that change the file system; the journal records these and fencing refuses them. */
export const MUTATING_OPS: ReadonlySet<VopName> = new Set<VopName>([
  'write', 'copyFileRange', 'create', 'truncate', 'fallocate', 'unlink', 'rename', 'mkdir', 'rmdir', 'symlink', 'link',
  'chmod', 'chown', 'utimens', 'setxattr', 'removexattr', 'mknod',
]);

export function isMutating(vop: Vop): boolean {
  return MUTATING_OPS.has(vop.op);
}
