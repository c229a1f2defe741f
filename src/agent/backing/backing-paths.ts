import { BigIntStats, promises as fsp } from 'fs';
import * as nodePath from 'path';
import { InvalidArgumentError, PermissionDeniedError } from '../../common/errors';
import { ErrnoError } from './errno-error';
import { BIGINT_STATS } from './backing-stat';
import { withDirDescriptor } from './long-path';

/** Linux PATH_MAX, and NAME_MAX for one component. */
const PATH_MAX = 4096;
const NAME_MAX = 255;
/** Backing paths this long or longer are reached through a directory descriptor (long-path.ts): room for what callers append. */
const ONE_CALL_MAX = PATH_MAX - NAME_MAX - 2;
/** The longest mount path taken (the kernel allows any depth; this bounds the work of one walk). */
const MOUNT_PATH_MAX = 64 * 1024;

/**
 * Maps mount paths ('/a/b' as FUSE gives them) to paths in the backing
 * directory, strictly inside it.
 *
 * - Only absolute, normalized paths are accepted: '..' is EACCES, '.',
 *   empty components, NUL bytes and relative paths are EINVAL.
 * - The parent chain is resolved with realpath and must stay inside the
 *   backing root (EACCES otherwise), so a symlink planted in the backing
 *   store (by another host, or in a race with the kernel's lookup) is never
 *   followed out of it. The kernel resolves symlinks in the mount itself
 *   (via readlink); the agent never needs to follow one.
 * - The last component is left as is: ops that must not follow it use
 *   lstat semantics or O_NOFOLLOW (see BackingStore).
 *
 * Residual race: a directory on the realpath'd chain swapped for a symlink
 * between realpath and the op (Node has no openat2/RESOLVE_BENEATH).
 */
export class BackingPaths {
  private constructor(readonly root: string) {}

  /** `dir` must exist and be a directory; it is canonicalized once. */
  static async create(dir: string): Promise<BackingPaths> {
    const root = await fsp.realpath(dir);
    const st = await fsp.stat(root);
    if (!st.isDirectory()) throw new ErrnoError('ENOTDIR', 'backing path is not a directory');
    return new BackingPaths(root);
  }

  /** Checks a mount path's syntax and returns its components ([] for '/'). */
  components(mountPath: unknown): string[] {
    if (typeof mountPath !== 'string' || !mountPath.startsWith('/')) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', 'path must be absolute', { path: String(mountPath).slice(0, 256) });
    }
    if (mountPath.includes('\0')) throw new InvalidArgumentError('INVALID_ARGUMENT', 'path contains NUL');
    if (Buffer.byteLength(mountPath) >= MOUNT_PATH_MAX) throw new ErrnoError('ENAMETOOLONG', 'path too long');
    if (mountPath === '/') return [];
    const parts = mountPath.slice(1).split('/');
    for (const part of parts) {
      if (part === '..') throw new PermissionDeniedError('PERMISSION_DENIED', 'path escapes the mount', { path: mountPath });
      if (part === '' || part === '.') throw new InvalidArgumentError('INVALID_ARGUMENT', 'path is not normalized', { path: mountPath });
      if (Buffer.byteLength(part) > NAME_MAX) throw new ErrnoError('ENAMETOOLONG', 'path component too long');
    }
    return parts;
  }

  /**
   * Runs fn with a backing path for a mount path (resolve()), or, when that
   * would be longer than one system call takes, with a short path through a
   * descriptor of its parent directory, valid until fn settles.
   */
  async withResolved<T>(mountPath: unknown, fn: (resolved: string) => Promise<T>): Promise<T> {
    const parts = this.components(mountPath);
    if (!this.tooLong(parts)) return fn(await this.resolve(mountPath));
    return withDirDescriptor(this.root, parts.slice(0, -1), (dir) => fn(`${dir}/${parts[parts.length - 1]}`));
  }

  /** withResolved() of a path whose directory the caller names by inode (resolveIn()). */
  async withResolvedIn<T>(mountPath: unknown, parentIno: number, fn: (resolved: string) => Promise<T>): Promise<T> {
    const parts = this.components(mountPath);
    if (!this.tooLong(parts)) return fn(await this.resolveIn(mountPath, parentIno));
    return withDirDescriptor(this.root, parts.slice(0, -1), async (dir, handle) => {
      if ((await handle.stat()).ino !== parentIno) throw new ErrnoError('ESTALE', 'the parent path names another inode now');
      return fn(`${dir}/${parts[parts.length - 1]}`);
    });
  }

  /** Whether the backing path of these components is longer than one system call should be given. */
  private tooLong(parts: string[]): boolean {
    return parts.length > 1 && Buffer.byteLength(this.root) + 1 + Buffer.byteLength(parts.join('/')) >= ONE_CALL_MAX;
  }

  /** The backing path for a mount path; the parent chain is verified to lie inside the root. Too long for one call: ENAMETOOLONG (withResolved). */
  async resolve(mountPath: unknown): Promise<string> {
    const parts = this.components(mountPath);
    if (this.tooLong(parts)) throw new ErrnoError('ENAMETOOLONG', 'backing path too long for one call');
    if (parts.length === 0) return this.root;
    const name = parts[parts.length - 1];
    if (parts.length === 1) return nodePath.join(this.root, name);
    const parent = await fsp.realpath(nodePath.join(this.root, ...parts.slice(0, -1)));
    this.checkInside(parent, mountPath);
    return nodePath.join(parent, name);
  }

  /**
   * resolve(), for a path whose directory the caller names by inode: the
   * parent's lstat runs alongside its realpath (one thread-pool round trip),
   * and ESTALE says the parent path leads to another inode now (or to a
   * symlink). A top-level name's directory is the root, which never moves.
   * A directory directly under the root needs no realpath: the root is
   * canonical, so a path `root/<name>` that lstat finds to be a directory
   * (not a symlink) is its own realpath.
   */
  async resolveIn(mountPath: unknown, parentIno: number): Promise<string> {
    const parts = this.components(mountPath);
    if (parts.length <= 1) return this.resolve(mountPath);
    const parentPath = nodePath.join(this.root, ...parts.slice(0, -1));
    if (parts.length === 2) {
      const st = await fsp.lstat(parentPath);
      if (st.ino !== parentIno || !st.isDirectory()) throw new ErrnoError('ESTALE', 'the parent path names another inode now');
      return nodePath.join(parentPath, parts[1]);
    }
    const [parent, st] = await Promise.all([fsp.realpath(parentPath), fsp.lstat(parentPath)]);
    this.checkInside(parent, mountPath);
    if (st.ino !== parentIno) throw new ErrnoError('ESTALE', 'the parent path names another inode now');
    return nodePath.join(parent, parts[parts.length - 1]);
  }

  /**
   * lstat of a mount path, with the same containment check as resolve().
   * The lstat runs alongside the parent's realpath instead of after it (one
   * thread-pool round trip instead of two: every FUSE lookup lands here): it
   * only reads metadata, and its result, or error, is used only once the
   * parent is known to lie inside the root; otherwise the answer is EACCES
   * as from resolve(). The residual race is resolve()'s own.
   */
  async lstat(mountPath: unknown): Promise<BigIntStats> {
    const parts = this.components(mountPath);
    if (this.tooLong(parts)) return this.withResolved(mountPath, (p) => fsp.lstat(p, BIGINT_STATS));
    if (parts.length <= 1) return fsp.lstat(parts.length === 0 ? this.root : nodePath.join(this.root, parts[0]), BIGINT_STATS);
    const [parent, st] = await Promise.allSettled([
      fsp.realpath(nodePath.join(this.root, ...parts.slice(0, -1))),
      fsp.lstat(nodePath.join(this.root, ...parts), BIGINT_STATS),
    ]);
    if (parent.status === 'rejected') throw parent.reason;
    this.checkInside(parent.value, mountPath);
    if (st.status === 'rejected') throw st.reason;
    return st.value;
  }

  /**
   * lstat() of a mount path, and whether its parent path still leads to
   * directory inode `parentIno` (the kernel-entry-cache rule; false when
   * not asked), in one thread-pool round trip. A parent directly under the
   * root is checked by its lstat alone, which also stands for the realpath
   * (a directory there is its own realpath, see resolveIn); one that is not
   * a directory takes lstat()'s way. Errors are lstat()'s.
   */
  async lstatIn(mountPath: unknown, parentIno: number | undefined): Promise<({ st: BigIntStats } | { error: unknown }) & { parentLeads: boolean }> {
    const parts = this.components(mountPath);
    if (this.tooLong(parts)) {
      return withDirDescriptor(this.root, parts.slice(0, -1), async (dir, handle) => {
        const parentLeads = (await handle.stat()).ino === parentIno;
        const found = await fsp.lstat(`${dir}/${parts[parts.length - 1]}`, BIGINT_STATS).then((st) => ({ st }), (error: unknown) => ({ error }));
        return { ...found, parentLeads };
      });
    }
    if (parts.length === 2) {
      const parentPath = nodePath.join(this.root, parts[0]);
      const [parent, st] = await Promise.allSettled([fsp.lstat(parentPath), fsp.lstat(nodePath.join(parentPath, parts[1]), BIGINT_STATS)]);
      if (parent.status === 'fulfilled' && parent.value.isDirectory()) {
        const parentLeads = parent.value.ino === parentIno;
        return st.status === 'fulfilled' ? { st: st.value, parentLeads } : { error: st.reason, parentLeads };
      }
    }
    const [found, leads] = await Promise.all([
      this.lstat(mountPath).then((st) => ({ st }), (error: unknown) => ({ error })),
      parentIno === undefined ? false : parts.length <= 1 || fsp.lstat(nodePath.join(this.root, ...parts.slice(0, -1))).then((p) => p.ino === parentIno, () => false),
    ]);
    return { ...found, parentLeads: leads };
  }

  /** EACCES unless the realpath'd parent of a mount path lies inside the root. */
  private checkInside(realParent: string, mountPath: unknown): void {
    if (!this.contains(realParent)) {
      throw new PermissionDeniedError('PERMISSION_DENIED', 'path resolves outside the backing directory', { path: mountPath });
    }
  }

  /** The mount path of a mount path's parent directory ('/' for top-level entries). */
  parentOf(mountPath: string): string {
    const parts = this.components(mountPath);
    return parts.length <= 1 ? '/' : '/' + parts.slice(0, -1).join('/');
  }

  private contains(p: string): boolean {
    return p === this.root || p.startsWith(this.root.endsWith('/') ? this.root : this.root + '/');
  }
}
