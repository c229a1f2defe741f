import { constants, read as fsRead, write as fsWrite, promises as fsp } from 'fs';
import { InvalidArgumentError } from '../../common/errors';
import { VopArgs, VopResults } from '../vop';
import { checkIo, checkMode, checkOffset } from './backing-limits';
import { chownNew } from './backing-owner';
import { backingSys, checkSys } from './backing-sys';
import { BackingPaths } from './backing-paths';
import { BIGINT_STATS, toVopStat } from './backing-stat';
import { ErrnoError } from './errno-error';
import { HandleTable } from './handle-table';

/** lseek(2) whences (unistd.h) the FUSE lseek request carries: the kernel answers SEEK_SET/CUR/END itself. */
const SEEK_DATA = 3;
const SEEK_HOLE = 4;

/**
 * Open flags passed through to the backing open. Dropped: O_CREAT/O_EXCL
 * (create is its own op), O_TRUNC (the kernel truncates with setattr, so it
 * is journaled as a truncate), O_DIRECT (the kernel's buffers are not aligned),
 * O_NOCTTY/O_NONBLOCK (meaningless here). O_NOFOLLOW is always added.
 */
const PASSED_FLAGS = constants.O_RDONLY | constants.O_WRONLY | constants.O_RDWR | constants.O_APPEND
  | constants.O_SYNC | constants.O_DSYNC | constants.O_NOATIME | constants.O_DIRECTORY;
/** What create passes of the caller's flags (the access mode is always read-write). */
const CREATE_PASSED_FLAGS = constants.O_APPEND | constants.O_SYNC | constants.O_DSYNC | constants.O_NOATIME;
const ACCESS_MODE = constants.O_RDONLY | constants.O_WRONLY | constants.O_RDWR;

/** Data operations: open files and their handles. */
export class BackingFileOps {
  constructor(
    private readonly paths: BackingPaths,
    private readonly handles: HandleTable,
    private readonly maxIoLength: number,
  ) {}

  async open(path: string, args: VopArgs['open']): Promise<VopResults['open']> {
    const flags = checkFlags(args.flags);
    const handle = await this.paths.withResolved(path, (r) => fsp.open(r, (flags & PASSED_FLAGS) | constants.O_NOFOLLOW));
    try {
      const st = await handle.stat();
      return { fh: this.handles.add(handle, st.ino, path), ino: st.ino };
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Creates `path` and opens it read-write. With O_EXCL in the caller's
   * flags (or no flags) the create is exclusive, so O_EXCL lock files stay
   * correct when another host creates the same name in between. Without
   * O_EXCL a name another host created since the kernel's negative lookup
   * is opened instead (`existed`: its mode and owner are left alone; the
   * caller truncates for O_TRUNC), as open(O_CREAT) does on one host. A new
   * file goes to `args.owner`, then gets its mode exactly (the agent's
   * umask must not apply a second time; chown clears setuid bits).
   */
  async create(path: string, args: VopArgs['create']): Promise<VopResults['create']> {
    const mode = checkMode(args.mode);
    const flags = args.flags === undefined ? constants.O_EXCL : checkFlags(args.flags);
    const parentIno = args.expectParentIno;
    const createAt = (resolved: string) => this.createAt(resolved, path, mode, flags, args);
    return parentIno === undefined ? this.paths.withResolved(path, createAt) : this.paths.withResolvedIn(path, parentIno, createAt);
  }

  private async createAt(resolved: string, path: string, mode: number, flags: number, args: VopArgs['create']): Promise<VopResults['create']> {
    const extra = flags & CREATE_PASSED_FLAGS;
    for (let attempt = 0; ; attempt++) {
      let handle: fsp.FileHandle;
      try {
        handle = await fsp.open(resolved, constants.O_CREAT | constants.O_EXCL | constants.O_RDWR | constants.O_NOFOLLOW | extra, mode);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || (flags & constants.O_EXCL) !== 0) throw e;
        const existing = await fsp.open(resolved, constants.O_RDWR | constants.O_NOFOLLOW | extra).catch((e2: NodeJS.ErrnoException) => {
          if (e2.code === 'ENOENT' && attempt < 3) return null; // removed again meanwhile: create it after all
          throw e2;
        });
        if (!existing) continue;
        return this.opened(existing, path, true);
      }
      try {
        const owned = await chownNew(resolved, args.owner, handle);
        let stat = toVopStat(await handle.stat(BIGINT_STATS));
        if (owned || (stat.mode & 0o7777) !== mode) {
          await handle.chmod(mode);
          stat = toVopStat(await handle.stat(BIGINT_STATS));
        }
        return { fh: this.handles.add(handle, stat.ino, path), stat };
      } catch (e) {
        await handle.close().catch(() => undefined);
        throw e;
      }
    }
  }

  private async opened(handle: fsp.FileHandle, path: string, existed: true): Promise<VopResults['create']> {
    try {
      const stat = toVopStat(await handle.stat(BIGINT_STATS));
      return { fh: this.handles.add(handle, stat.ino, path), stat, existed };
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }
  }

  /** fallocate(2) on the handle's descriptor (allocate, KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE, …). */
  async fallocate(args: VopArgs['fallocate']): Promise<void> {
    const offset = checkOffset(args.offset, 'offset');
    const length = checkOffset(args.length, 'length');
    if (!Number.isInteger(args.mode) || args.mode < 0 || args.mode > 0xff) throw new InvalidArgumentError('INVALID_ARGUMENT', 'fallocate mode must be FALLOC_FL_* bits', { mode: args.mode });
    checkSys(await backingSys().fallocateAsync(this.handles.get(args.fh).handle.fd, args.mode, offset, length), 'fallocate');
  }

  /** SEEK_DATA / SEEK_HOLE on the handle's descriptor (what the backing store knows of holes; ENXIO past the data). */
  async lseek(args: VopArgs['lseek']): Promise<number> {
    const offset = checkOffset(args.offset, 'offset');
    if (args.whence !== SEEK_DATA && args.whence !== SEEK_HOLE) throw new InvalidArgumentError('INVALID_ARGUMENT', 'lseek whence must be SEEK_DATA (3) or SEEK_HOLE (4)', { whence: args.whence });
    const found = await backingSys().lseekAsync(this.handles.get(args.fh).handle.fd, offset, args.whence);
    checkSys(found, 'lseek');
    return found;
  }

  async read(args: VopArgs['read']): Promise<number> {
    const { offset, length } = checkIo(args.offset, args.length, this.maxIoLength);
    if (!Buffer.isBuffer(args.buffer) || args.buffer.length < length) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', 'read buffer smaller than length', { length });
    }
    const file = this.handles.get(args.fh);
    let done = 0;
    while (done < length) {
      const bytesRead = await pread(file.handle.fd, args.buffer, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  /** Writes all of `data` (looping over short writes); O_APPEND files append whatever the offset. */
  async write(args: VopArgs['write']): Promise<number> {
    if (!Buffer.isBuffer(args.data)) throw new InvalidArgumentError('INVALID_ARGUMENT', 'write data must be a buffer');
    const { offset, length } = checkIo(args.offset, args.data.length, this.maxIoLength);
    const file = this.handles.get(args.fh);
    let done = 0;
    while (done < length) {
      const bytesWritten = await pwrite(file.handle.fd, args.data, done, length - done, offset + done);
      if (bytesWritten === 0) throw new ErrnoError('EIO', 'backing write made no progress');
      done += bytesWritten;
    }
    return done;
  }

  /** close(2) of one descriptor of an open file: the backing store has nothing buffered. */
  async flush(args: VopArgs['flush']): Promise<void> {
    this.handles.get(args.fh);
  }

  async fsync(args: VopArgs['fsync']): Promise<void> {
    const file = this.handles.get(args.fh);
    if (args.datasync) await file.handle.datasync();
    else await file.handle.sync();
  }

  async release(args: VopArgs['release']): Promise<void> {
    await this.handles.take(args.fh).handle.close();
  }

  async getattr(fh: number): Promise<VopResults['getattr']> {
    return toVopStat(await this.handles.get(fh).handle.stat(BIGINT_STATS));
  }

  /** Truncates through the handle if given, else opens the path without following a symlink. */
  async truncate(path: string, args: VopArgs['truncate']): Promise<void> {
    const size = checkOffset(args.size, 'size');
    if (args.fh !== undefined) {
      await this.handles.get(args.fh).handle.truncate(size);
      return;
    }
    const handle = await this.paths.withResolved(path, (r) => fsp.open(r, constants.O_WRONLY | constants.O_NOFOLLOW));
    try {
      await handle.truncate(size);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }
}

function checkFlags(flags: unknown): number {
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'open flags must be an unsigned integer', { flags });
  }
  if ((flags & ACCESS_MODE) === ACCESS_MODE) throw new InvalidArgumentError('INVALID_ARGUMENT', 'invalid access mode');
  return flags;
}

/*
 * The data path uses the callback API on the handle's descriptor: measured
 * 10-40 µs cheaper per 128 KiB request than FileHandle.read/write. The
 * FileHandle still owns the descriptor (close on release); the kernel sends
 * no read/write on a handle after its release.
 */
function pread(fd: number, buffer: Buffer, at: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fsRead(fd, buffer, at, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}

function pwrite(fd: number, buffer: Buffer, at: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fsWrite(fd, buffer, at, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}
