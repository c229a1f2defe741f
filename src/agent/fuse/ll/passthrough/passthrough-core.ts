import * as fs from 'fs';
import { constants } from 'os';
import { promisify } from 'util';
import { AddonEntry } from '../fuse-addon';
import { Inode, InodeTable } from '../inode-table';
import { RequestContext } from '../low-level-ops';

export const O_PATH = 0o10000000;
export const afs = {
  open: promisify(fs.open),
  close: promisify(fs.close),
  fstat: (fd: number) => promisify(fs.fstat)(fd, { bigint: true }) as Promise<fs.BigIntStats>,
  read: promisify(fs.read),
  write: promisify(fs.write),
  fsync: promisify(fs.fsync),
  fdatasync: promisify(fs.fdatasync),
  ftruncate: promisify(fs.ftruncate),
  fchmod: promisify(fs.fchmod),
  fchown: promisify(fs.fchown),
};

/** An errno-coded error, like Node's fs errors (errno-table.ts maps it by code). */
export class SysError extends Error {
  readonly code: string;
  constructor(errno: number, op: string) {
    const code = Object.entries(constants.errno).find(([, n]) => n === errno)?.[0] ?? 'EIO';
    super(`${code}: ${op}`);
    this.name = 'SysError';
    this.code = code;
  }
}

export function errnoError(code: keyof typeof constants.errno, op: string): SysError {
  return new SysError(constants.errno[code], op);
}

/** Turns an addon sys call's -errno into a thrown SysError. */
export function check<T>(result: T | number, op: string): T {
  if (typeof result === 'number' && result < 0) throw new SysError(-result, op);
  return result as T;
}

export interface PassthroughOptions {
  /** Seconds the kernel may cache attributes / entries. Default 1. */
  attrTimeout?: number;
  entryTimeout?: number;
  /** Keep the page cache across opens (the kernel still drops it when mtime/size change). Default true. */
  keepCache?: boolean;
}

/**
 * State shared by the passthrough's op groups: the inode table (one
 * O_PATH fd per inode the kernel knows), open file handles (backing fds),
 * and caller identity for new files. Paths are only ever
 * /proc/self/fd/<fd>[/<name>]: short, and immune to renames.
 */
export class PassthroughCore {
  readonly table: InodeTable;
  readonly openFds = new Set<number>();
  readonly attrTimeout: number;
  readonly entryTimeout: number;
  readonly keepCache: boolean;
  private readonly isRoot = process.getuid?.() === 0;
  private readonly procUmask = process.umask();

  constructor(rootFd: number, rootKey: string, options: PassthroughOptions) {
    this.table = new InodeTable(rootFd, rootKey);
    this.attrTimeout = options.attrTimeout ?? 1;
    this.entryTimeout = options.entryTimeout ?? 1;
    this.keepCache = options.keepCache ?? true;
  }

  node(id: number): Inode {
    const n = this.table.get(id);
    if (!n) throw errnoError('ESTALE', 'unknown node id');
    return n;
  }

  path(node: Inode, name?: string): string {
    if (name !== undefined && (name === '' || name.includes('/') || name === '.' || name === '..')) {
      throw errnoError('EINVAL', 'bad name');
    }
    return name === undefined ? `/proc/self/fd/${node.fd}` : `/proc/self/fd/${node.fd}/${name}`;
  }

  fh(fh: number): number {
    if (!this.openFds.has(fh)) throw errnoError('EBADF', 'unknown file handle');
    return fh;
  }

  /** Opens parent/name with O_PATH, takes a lookup reference, answers the entry. */
  async lookup(parent: Inode, name: string): Promise<AddonEntry> {
    const fd = await afs.open(this.path(parent, name), O_PATH | fs.constants.O_NOFOLLOW);
    let st: fs.BigIntStats;
    try {
      st = await afs.fstat(fd);
    } catch (e) {
      await afs.close(fd).catch(() => undefined);
      throw e;
    }
    const node = this.table.ref(`${st.dev}:${st.ino}`, fd);
    return this.entry(node, st);
  }

  entry(node: Inode, st: fs.BigIntStats): AddonEntry {
    return { ino: node.id, generation: 1, attr: st, attrTimeout: this.attrTimeout, entryTimeout: this.entryTimeout };
  }

  /** Undoes the process umask on a new file (the kernel already applied the caller's). */
  needsChmod(mode: number): boolean {
    return (mode & this.procUmask & 0o777) !== 0;
  }

  /**
   * Owner of a new file: the caller's uid, and its gid unless the parent
   * directory is setgid (then the inherited group stays). Only as root.
   */
  async ownerFor(ctx: RequestContext, parent: Inode): Promise<{ uid: number; gid: number } | null> {
    if (!this.isRoot || (ctx.uid === 0 && ctx.gid === 0)) return null;
    const pst = await afs.fstat(parent.fd);
    return { uid: ctx.uid, gid: (Number(pst.mode) & 0o2000) !== 0 ? -1 : ctx.gid };
  }
}
