import { constants, promises as fsp } from 'fs';
import * as nodePath from 'path';
import { VopArgs, VopDirEntry, VopResults, VopStat } from '../vop';
import { SYMLINK_TARGET_MAX, checkId, checkMode, checkName } from './backing-limits';
import { chownNew } from './backing-owner';
import { BackingPaths } from './backing-paths';
import { backingSys, checkSys } from './backing-sys';
import { BIGINT_STATS, toVopStat, toVopStatfs } from './backing-stat';
import { setTimesNoFollow } from './backing-times';
import { ErrnoError } from './errno-error';
import { O_PATH } from './long-path';

/** Stats with 64-bit numbers and times to the nanosecond (toVopStat). */
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;

/** lstat calls in flight per readdir. */
const READDIR_CONCURRENCY = 64;

/**
 * Operations on names and attributes. Nothing here follows a symlink in
 * the last component: lstat/lchown/lutimes/readlink/link act on the link
 * itself; chmod, access and readdir go through an O_PATH|O_NOFOLLOW (or
 * O_DIRECTORY|O_NOFOLLOW) descriptor and its /proc/self/fd path, so a
 * symlink swapped in by another host cannot redirect them.
 */
export class BackingEntryOps {
  constructor(private readonly paths: BackingPaths) {}

  /** lstat of `path`; with `expectIno`, ESTALE if the path names another inode (the caller's is elsewhere or gone). */
  async getattr(path: string, expectIno?: number): Promise<VopStat> {
    const st = toVopStat(await this.paths.lstat(path));
    if (expectIno !== undefined && st.ino !== expectIno) throw new ErrnoError('ESTALE', 'the path names another inode now');
    return st;
  }

  async access(path: string, args: VopArgs['access']): Promise<void> {
    const mode = typeof args.mode === 'number' ? args.mode & 7 : constants.F_OK;
    await this.paths.withResolved(path, (r) => withNoFollow(r, O_PATH, (proc) => fsp.access(proc, mode)));
  }

  async statfs(): Promise<VopResults['statfs']> {
    return toVopStatfs(await fsp.statfs(this.paths.root));
  }

  /** Entries with lstat attributes, '.' and '..' first; entries that vanish meanwhile are skipped. */
  async readdir(path: string): Promise<VopDirEntry[]> {
    return this.paths.withResolved(path, (resolved) => withNoFollow(resolved, constants.O_RDONLY | constants.O_DIRECTORY, async (proc) => {
      const names = await fsp.readdir(proc);
      const self = toVopStat(await fsp.stat(proc, BIGINT_STATS));
      // The parent as `..` names it (stat: a long path's parent is a /proc/self/fd link).
      const parent = resolved === this.paths.root ? self : toVopStat(await fsp.stat(`${proc}/..`, BIGINT_STATS));
      const entries: VopDirEntry[] = [{ name: '.', stat: self }, { name: '..', stat: parent }];
      for (let i = 0; i < names.length; i += READDIR_CONCURRENCY) {
        const chunk = names.slice(i, i + READDIR_CONCURRENCY);
        const stats = await Promise.all(chunk.map((name) => fsp.lstat(nodePath.join(proc, name), BIGINT_STATS).then(toVopStat, () => undefined)));
        chunk.forEach((name, j) => { if (stats[j]) entries.push({ name, stat: stats[j] }); });
      }
      return entries;
    }));
  }

  /** Makes the directory's entries durable (fsync of the directory). */
  async fsyncdir(path: string): Promise<void> {
    const handle = await this.paths.withResolved(path, (r) => fsp.open(r, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW));
    try {
      await handle.sync();
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async mkdir(path: string, args: VopArgs['mkdir']): Promise<VopStat> {
    const mode = checkMode(args.mode);
    return this.paths.withResolved(path, async (resolved) => {
      await fsp.mkdir(resolved, mode);
      await chownNew(resolved, args.owner);
      await chmodNoFollow(resolved, mode);
      return toVopStat(await fsp.lstat(resolved, BIGINT_STATS));
    });
  }

  /**
   * Regular files, FIFOs, sockets and device nodes (mknod(2): devices need
   * the agent to be root, else EPERM as mknod gives). The mode is set
   * exactly afterwards (the agent's umask must not apply twice).
   */
  async mknod(path: string, args: VopArgs['mknod']): Promise<VopStat> {
    const mode = checkMode(args.mode);
    const type = args.mode & constants.S_IFMT;
    return this.paths.withResolved(path, (resolved) => this.mknodAt(resolved, type, mode, args));
  }

  private async mknodAt(resolved: string, type: number, mode: number, args: VopArgs['mknod']): Promise<VopStat> {
    if (type === constants.S_IFREG || type === 0) {
      const handle = await fsp.open(resolved, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, mode);
      await chownNew(resolved, args.owner, handle).then(() => handle.chmod(mode)).finally(() => handle.close());
    } else if (type === constants.S_IFIFO || type === constants.S_IFSOCK || type === constants.S_IFCHR || type === constants.S_IFBLK) {
      const dev = typeof args.dev === 'number' && Number.isInteger(args.dev) && args.dev >= 0 ? args.dev : 0;
      checkSys(await backingSys().mknodAsync(resolved, type | mode, dev), 'mknod');
      await chownNew(resolved, args.owner);
      await chmodNoFollow(resolved, mode);
    } else {
      throw new ErrnoError('EINVAL', 'unknown file type for mknod');
    }
    return toVopStat(await fsp.lstat(resolved, BIGINT_STATS));
  }

  async unlink(path: string): Promise<void> {
    await this.paths.withResolved(path, (r) => fsp.unlink(r));
  }

  async rmdir(path: string): Promise<void> {
    await this.paths.withResolved(path, (r) => fsp.rmdir(r));
  }

  async rename(path: string, args: VopArgs['rename']): Promise<void> {
    const flags = args.flags ?? 0;
    if (!Number.isInteger(flags) || (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) !== 0 || flags === (RENAME_NOREPLACE | RENAME_EXCHANGE)) {
      throw new ErrnoError('EINVAL', 'rename flags must be RENAME_NOREPLACE or RENAME_EXCHANGE');
    }
    await this.paths.withResolved(path, (from) => this.paths.withResolved(args.dest, async (to) => {
      if (flags === 0) return fsp.rename(from, to);
      checkSys(await backingSys().rename2Async(from, to, flags), 'rename');
    }));
  }

  /** Hard link `dest` to the existing `path` (link(2) does not follow a symlink source). */
  async link(path: string, args: VopArgs['link']): Promise<VopStat> {
    return this.paths.withResolved(path, (existing) => this.paths.withResolved(args.dest, async (created) => {
      await fsp.link(existing, created);
      return toVopStat(await fsp.lstat(created, BIGINT_STATS));
    }));
  }

  /** The target is stored verbatim; it is never resolved by the agent. */
  async symlink(path: string, args: VopArgs['symlink']): Promise<VopStat> {
    const target = checkName(args.target, 'symlink target', SYMLINK_TARGET_MAX);
    return this.paths.withResolved(path, async (resolved) => {
      await fsp.symlink(target, resolved);
      await chownNew(resolved, args.owner);
      return toVopStat(await fsp.lstat(resolved, BIGINT_STATS));
    });
  }

  async readlink(path: string): Promise<string> {
    return this.paths.withResolved(path, (r) => fsp.readlink(r));
  }

  /** chmod on a symlink is EOPNOTSUPP, as on Linux. */
  async chmod(path: string, args: VopArgs['chmod']): Promise<void> {
    const mode = checkMode(args.mode);
    await this.paths.withResolved(path, (r) => chmodNoFollow(r, mode));
  }

  async chown(path: string, args: VopArgs['chown']): Promise<void> {
    const uid = checkId(args.uid, 'uid');
    const gid = checkId(args.gid, 'gid');
    await this.paths.withResolved(path, (r) => fsp.lchown(r, uid, gid));
  }

  async utimens(path: string, args: VopArgs['utimens']): Promise<void> {
    await this.paths.withResolved(path, (r) => setTimesNoFollow(r, args));
  }
}

/** Opens `resolved` without following a final symlink and runs fn on its /proc/self/fd path. */
async function withNoFollow<T>(resolved: string, flags: number, fn: (procPath: string) => Promise<T>): Promise<T> {
  const handle = await fsp.open(resolved, flags | constants.O_NOFOLLOW);
  try {
    return await fn(`/proc/self/fd/${handle.fd}`);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function chmodNoFollow(resolved: string, mode: number): Promise<void> {
  return withNoFollow(resolved, O_PATH, (proc) => fsp.chmod(proc, mode));
}
