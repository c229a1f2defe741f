import { Logger } from '../../common/logger';
import { Terminal, Vop, VopResult, VopStat } from '../vop';
import { toVopStat } from './backing-stat';
import { copyFileRange } from './backing-copy';
import { BackingEntryOps } from './backing-entry-ops';
import { BackingFileOps } from './backing-file-ops';
import { DEFAULT_MAX_IO_LENGTH, XATTR_NAME_MAX, XATTR_SIZE_MAX } from './backing-limits';
import { BackingPaths } from './backing-paths';
import { ErrnoError, normalizeBackingError } from './errno-error';
import { DEFAULT_MAX_OPEN_FILES, HandleTable } from './handle-table';
import { BackingXattrs } from './backing-xattrs';

export interface BackingStoreOptions {
  /** The shared directory; must exist. */
  dir: string;
  logger: Logger;
  /** Largest read/write accepted (EINVAL above). Default 16 MiB. */
  maxIoLength?: number;
  /** Open handle bound (EMFILE above). Default 65536. */
  maxOpenFiles?: number;
  /** Extended attributes (through the FUSE addon's l*xattr calls); false refuses them with EOPNOTSUPP. Default true. */
  xattrs?: boolean;
}

/**
 * The terminal of the hook chain (DESIGN §7): performs each vop on the
 * backing directory with asynchronous fs calls. Every failure is an Error
 * whose errno name `errnoNameOf` finds: Node's own fs errors (code), domain
 * errors for bad input (INVALID_ARGUMENT → EINVAL, MESSAGE_TOO_LARGE →
 * EFBIG, PERMISSION_DENIED → EACCES), or InternalError (EIO). Nothing
 * throws synchronously.
 */
export class BackingStore {
  readonly handles: HandleTable;
  private readonly files: BackingFileOps;
  private readonly entries: BackingEntryOps;
  private readonly xattrs: BackingXattrs | null;
  private readonly maxIoLength: number;
  /** Bound terminal for compose(). */
  readonly terminal: Terminal = (vop) => this.execute(vop);

  private constructor(readonly paths: BackingPaths, options: BackingStoreOptions) {
    this.handles = new HandleTable(options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES);
    this.maxIoLength = options.maxIoLength ?? DEFAULT_MAX_IO_LENGTH;
    this.files = new BackingFileOps(paths, this.handles, this.maxIoLength);
    this.entries = new BackingEntryOps(paths);
    this.xattrs = options.xattrs === false ? null : new BackingXattrs();
  }

  static async open(options: BackingStoreOptions): Promise<BackingStore> {
    const paths = await BackingPaths.create(options.dir);
    return new BackingStore(paths, options);
  }

  get root(): string {
    return this.paths.root;
  }

  /** The inode at a mount path (lstat), or undefined if it does not exist or the path is invalid. */
  async lookupIno(path: string): Promise<number | undefined> {
    const found = await this.lookup(path);
    return 'ino' in found ? found.ino : undefined;
  }

  /**
   * The inode at a mount path (lstat), or the error a getattr of the path
   * would fail with (the same resolve and lstat, errno-mapped): a caller
   * can answer a getattr of a missing or invalid path without asking twice.
   */
  async lookup(path: string): Promise<{ ino: number; stat: VopStat } | { error: Error }> {
    try {
      const stat = toVopStat(await this.paths.lstat(path));
      return { ino: stat.ino, stat };
    } catch (e) {
      return { error: normalizeBackingError(e, 'getattr') };
    }
  }

  /** lookup(), and whether the path's parent path still leads to directory inode `parentIno` (BackingPaths.lstatIn). */
  async lookupIn(path: string, parentIno: number | undefined): Promise<({ ino: number; stat: VopStat } | { error: Error }) & { parentLeads: boolean }> {
    try {
      const found = await this.paths.lstatIn(path, parentIno);
      if ('error' in found) return { error: normalizeBackingError(found.error, 'getattr'), parentLeads: found.parentLeads };
      const stat = toVopStat(found.st);
      return { ino: stat.ino, stat, parentLeads: found.parentLeads };
    } catch (e) {
      return { error: normalizeBackingError(e, 'getattr'), parentLeads: false };
    }
  }

  /** Runs one vop; rejects with an errno-mapped error. */
  async execute(vop: Vop): Promise<VopResult> {
    try {
      return await this.dispatch(vop);
    } catch (e) {
      throw normalizeBackingError(e, vop.op);
    }
  }

  private xattrsOrRefuse(): BackingXattrs {
    if (!this.xattrs) throw new ErrnoError('EOPNOTSUPP', 'extended attributes are turned off');
    return this.xattrs;
  }

  /** Closes every open handle (unmount). */
  async close(): Promise<void> {
    await this.handles.closeAll();
  }

  private async dispatch(vop: Vop): Promise<VopResult> {
    const { path } = vop;
    switch (vop.op) {
      case 'getattr': return vop.args.fh !== undefined ? this.files.getattr(vop.args.fh) : this.entries.getattr(path, vop.args.expectIno);
      case 'access': return this.entries.access(path, vop.args);
      case 'statfs': return this.entries.statfs();
      case 'readdir': return this.entries.readdir(path);
      case 'opendir': return undefined;
      case 'releasedir': return undefined;
      case 'fsyncdir': return this.entries.fsyncdir(path);
      case 'open': return this.files.open(path, vop.args);
      case 'create': return this.files.create(path, vop.args);
      case 'read': return this.files.read(vop.args);
      case 'write': return this.files.write(vop.args);
      case 'flush': return this.files.flush(vop.args);
      case 'fsync': return this.files.fsync(vop.args);
      case 'release': return this.files.release(vop.args);
      case 'truncate': return this.files.truncate(path, vop.args);
      case 'fallocate': return this.files.fallocate(vop.args);
      case 'lseek': return this.files.lseek(vop.args);
      case 'copyFileRange': return copyFileRange(this.handles, vop.args, this.maxIoLength);
      case 'unlink': return this.entries.unlink(path);
      case 'rmdir': return this.entries.rmdir(path);
      case 'rename': return this.entries.rename(path, vop.args);
      case 'mkdir': return this.entries.mkdir(path, vop.args);
      case 'mknod': return this.entries.mknod(path, vop.args);
      case 'symlink': return this.entries.symlink(path, vop.args);
      case 'readlink': return this.entries.readlink(path);
      case 'link': return this.entries.link(path, vop.args);
      case 'chmod': return this.entries.chmod(path, vop.args);
      case 'chown': return this.entries.chown(path, vop.args);
      case 'utimens': return this.entries.utimens(path, vop.args);
      case 'setxattr': {
        const value = vop.args.value;
        if (!Buffer.isBuffer(value) || value.length > XATTR_SIZE_MAX) throw new ErrnoError('E2BIG', 'xattr value too large');
        const flags = vop.args.flags;
        if (flags !== 0 && flags !== 1 && flags !== 2) throw new ErrnoError('EINVAL', 'bad setxattr flags');
        return this.paths.withResolved(path, (r) => this.xattrsOrRefuse().set(r, xattrName(vop.args.name), value, flags));
      }
      case 'getxattr': return this.paths.withResolved(path, (r) => this.xattrsOrRefuse().get(r, xattrName(vop.args.name)));
      case 'listxattr': return this.paths.withResolved(path, (r) => this.xattrsOrRefuse().list(r));
      case 'removexattr': return this.paths.withResolved(path, (r) => this.xattrsOrRefuse().remove(r, xattrName(vop.args.name)));
      default: {
        const unknown: { op?: unknown } = vop;
        throw new ErrnoError('ENOSYS', `unknown op ${String(unknown.op)}`);
      }
    }
  }
}

/** xattr names: non-empty, no NUL, ≤ 255 bytes (ERANGE, as setxattr(2)). */
function xattrName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.includes('\0')) throw new ErrnoError('EINVAL', 'bad xattr name');
  if (Buffer.byteLength(name) > XATTR_NAME_MAX) throw new ErrnoError('ERANGE', 'xattr name too long');
  return name;
}
