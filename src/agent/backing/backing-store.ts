import { promises as fsp } from 'fs';
import { Logger } from '../../common/logger';
import { Terminal, Vop, VopResult } from '../vop';
import { BackingEntryOps } from './backing-entry-ops';
import { BackingFileOps } from './backing-file-ops';
import { DEFAULT_MAX_IO_LENGTH, XATTR_NAME_MAX, XATTR_SIZE_MAX } from './backing-limits';
import { BackingPaths } from './backing-paths';
import { ErrnoError, normalizeBackingError } from './errno-error';
import { DEFAULT_MAX_OPEN_FILES, HandleTable } from './handle-table';
import { XattrHelper } from './xattr-helper';

export interface BackingStoreOptions {
  /** The shared directory; must exist. */
  dir: string;
  logger: Logger;
  /** Largest read/write accepted (EINVAL above). Default 16 MiB. */
  maxIoLength?: number;
  /** Open handle bound (EMFILE above). Default 65536. */
  maxOpenFiles?: number;
  /** python3 used for extended attributes; false disables them (EOPNOTSUPP). Default '/usr/bin/python3' if present, else 'python3'. */
  xattrHelper?: string | false;
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
  private readonly xattrs: XattrHelper;
  /** Bound terminal for compose(). */
  readonly terminal: Terminal = (vop) => this.execute(vop);

  private constructor(readonly paths: BackingPaths, options: BackingStoreOptions, xattrCommand: string | false) {
    const logger = options.logger.child({ component: 'backing' });
    this.handles = new HandleTable(options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES);
    this.files = new BackingFileOps(paths, this.handles, options.maxIoLength ?? DEFAULT_MAX_IO_LENGTH);
    this.entries = new BackingEntryOps(paths);
    this.xattrs = new XattrHelper(xattrCommand, logger);
  }

  static async open(options: BackingStoreOptions): Promise<BackingStore> {
    const paths = await BackingPaths.create(options.dir);
    let xattr = options.xattrHelper;
    if (xattr === undefined) xattr = await fsp.access('/usr/bin/python3').then(() => '/usr/bin/python3', () => 'python3');
    return new BackingStore(paths, options, xattr);
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
  async lookup(path: string): Promise<{ ino: number } | { error: Error }> {
    try {
      return { ino: (await this.paths.lstat(path)).ino };
    } catch (e) {
      return { error: normalizeBackingError(e, 'getattr') };
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

  /** Closes every open handle and the xattr helper (unmount). */
  async close(): Promise<void> {
    this.xattrs.close();
    await this.handles.closeAll();
  }

  private async dispatch(vop: Vop): Promise<VopResult> {
    const { path } = vop;
    switch (vop.op) {
      case 'getattr': return vop.args.fh !== undefined ? this.files.getattr(vop.args.fh) : this.entries.getattr(path);
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
        return this.xattrs.set(await this.paths.resolve(path), xattrName(vop.args.name), value, flags);
      }
      case 'getxattr': return this.xattrs.get(await this.paths.resolve(path), xattrName(vop.args.name));
      case 'listxattr': return this.xattrs.list(await this.paths.resolve(path));
      case 'removexattr': return this.xattrs.remove(await this.paths.resolve(path), xattrName(vop.args.name));
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
