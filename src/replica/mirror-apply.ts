import { constants, promises as fsp } from 'fs';
import * as nodePath from 'path';
import { InternalError } from '../common/errors';
import { Logger } from '../common/logger';
import { JournalRecord } from '../agent/journal/journal-record';
import { InodeMap, parentOf, relOf } from './inode-map';
import { backingSys, checkSys } from '../agent/backing/backing-sys';
import { setTimesNoFollow } from '../agent/backing/backing-times';
import type { VopArgs } from '../agent/vop';
import { ExchangeIntent, exchangeKey } from './exchange-intent';

const RENAME_EXCHANGE = 2;

export type ApplyOutcome = 'applied' | 'skipped';

/**
 * Replays journal records on the mirror directory. Replays are idempotent
 * (a record applied twice, after a crash between apply and cursor save,
 * changes nothing more): creates keep an existing file, removals of a
 * missing name and renames of a missing source are no-ops. Files and
 * directories changed since the last durable() are fsync'ed by it.
 */
export class MirrorApplier {
  private readonly touchedFiles = new Set<string>();
  private readonly touchedDirs = new Set<string>();

  /** `intent`: where an exchange is written down before it is applied (exchange-intent.ts); without it a replay after a crash may swap back. */
  constructor(readonly mirrorDir: string, readonly inodes: InodeMap, private readonly logger: Logger, private readonly intent?: ExchangeIntent) {}

  async apply(r: JournalRecord): Promise<ApplyOutcome> {
    const a = r.args;
    switch (r.op) {
      case 'write': {
        const rel = this.dataPath(r);
        if (rel === undefined) return 'skipped';
        const data = dataOf(r);
        await this.withFile(rel, (h) => writeAll(h, data, Number(a.offset)));
        return 'applied';
      }
      case 'truncate': {
        const rel = this.dataPath(r);
        if (rel === undefined) return 'skipped';
        await this.withFile(rel, (h) => h.truncate(Number(a.size)));
        return 'applied';
      }
      case 'create':
      case 'mknod': {
        const mode = Number(a.mode);
        const rel = this.entryPath(r.parentIno, r.path);
        if (r.op === 'mknod' && (mode & constants.S_IFMT) !== constants.S_IFREG && (mode & constants.S_IFMT) !== 0) {
          this.logger.warn('special file not replicated', { path: r.path, mode });
          return 'skipped';
        }
        await this.ensureParent(rel);
        const h = await fsp.open(this.abs(rel), constants.O_WRONLY | constants.O_CREAT, mode & 0o7777);
        await giveToOwner(this.abs(rel), a).then(() => h.chmod(mode & 0o7777)).finally(() => h.close());
        this.created(r, rel);
        return 'applied';
      }
      case 'mkdir': {
        const rel = this.entryPath(r.parentIno, r.path);
        await this.ensureParent(rel);
        await fsp.mkdir(this.abs(rel)).catch(ignore('EEXIST'));
        await giveToOwner(this.abs(rel), a);
        await fsp.chmod(this.abs(rel), Number(a.mode) & 0o7777);
        this.created(r, rel);
        return 'applied';
      }
      case 'symlink': {
        const rel = this.entryPath(r.parentIno, r.path);
        await this.ensureParent(rel);
        await fsp.rm(this.abs(rel), { force: true });
        await fsp.symlink(String(a.target), this.abs(rel));
        await giveToOwner(this.abs(rel), a);
        this.created(r, rel);
        return 'applied';
      }
      case 'link': {
        const from = this.inodes.pathOf(r.ino) ?? relOf(r.path);
        const rel = this.entryPath(r.parentIno, String(a.dest));
        if (from === undefined) return 'skipped';
        await fsp.rm(this.abs(rel), { force: true });
        await fsp.link(this.abs(from), this.abs(rel));
        if (r.ino !== null) this.inodes.linked(r.ino, rel);
        this.touchedDirs.add(parentOf(rel));
        return 'applied';
      }
      case 'unlink':
      case 'rmdir': {
        const rel = this.entryPath(r.parentIno, r.path);
        if (rel === '') throw new InternalError('INTERNAL', 'refusing to remove the mirror root', { path: r.path });
        if (r.op === 'unlink') await fsp.unlink(this.abs(rel)).catch(ignore('ENOENT'));
        else await fsp.rm(this.abs(rel), { recursive: true, force: true });
        this.inodes.removed(rel);
        this.touchedDirs.add(parentOf(rel));
        return 'applied';
      }
      case 'rename': {
        const from = this.entryPath(r.parentIno, r.path);
        const destParent = typeof a.destParentIno === 'number' ? a.destParentIno : undefined;
        const to = this.entryPath(destParent, String(a.dest));
        // RENAME_NOREPLACE succeeded on the agent, so it applies as a plain rename; RENAME_EXCHANGE swaps.
        if ((Number(a.flags ?? 0) & RENAME_EXCHANGE) !== 0) return this.exchange(r, from, to);
        const moved = await fsp.lstat(this.abs(from)).catch(() => undefined);
        if (!moved) return 'skipped'; // replayed after it was applied, or its source never reached the mirror
        await this.ensureParent(to);
        const target = await fsp.lstat(this.abs(to)).catch(() => undefined);
        if (target?.isDirectory() && moved.isDirectory()) await fsp.rm(this.abs(to), { recursive: true, force: true });
        await fsp.rename(this.abs(from), this.abs(to));
        this.inodes.renamed(from, to);
        this.touchedDirs.add(parentOf(from)).add(parentOf(to));
        return 'applied';
      }
      case 'fallocate': {
        const rel = this.dataPath(r);
        if (rel === undefined) return 'skipped';
        await this.withFile(rel, async (h) => checkSys(await backingSys().fallocateAsync(h.fd, Number(a.mode), Number(a.offset), Number(a.length)), 'fallocate'));
        return 'applied';
      }
      case 'chmod':
      case 'chown':
      case 'utimens': {
        const rel = this.dataPath(r);
        if (rel === undefined) return 'skipped';
        if (r.op === 'chmod') await fsp.chmod(this.abs(rel), Number(a.mode) & 0o7777);
        else if (r.op === 'chown') await fsp.lchown(this.abs(rel), Number(a.uid), Number(a.gid)).catch(ignore('EPERM'));
        else await setTimesNoFollow(this.abs(rel), a as VopArgs['utimens']);
        this.touchedFiles.add(rel);
        return 'applied';
      }
      default:
        return 'skipped'; // setxattr/removexattr: extended attributes are not replicated (docs/replication.md)
    }
  }

  /**
   * RENAME_EXCHANGE, atomically (renameat2) when both names exist in the
   * mirror. A replay is recognised by the inode map (the source inode is
   * already at `to`) or, after a crash before the map was saved, by the
   * intent written just before the swap.
   */
  private async exchange(r: JournalRecord, from: string, to: string): Promise<ApplyOutcome> {
    if (r.ino !== null && this.inodes.pathOf(r.ino) === to) return 'skipped';
    const [x, y] = await Promise.all([fsp.lstat(this.abs(from)).catch(() => undefined), fsp.lstat(this.abs(to)).catch(() => undefined)]);
    if (!x || !y) {
      this.logger.warn('rename exchange not replicated: a side is missing in the mirror', { from, to });
      return 'skipped';
    }
    const key = exchangeKey(r.sequence, r.timeMs, from, to);
    if (await this.intent?.alreadySwapped(key, x.ino, y.ino)) {
      this.logger.info('rename exchange already applied before a restart; not swapping back', { from, to });
    } else {
      await this.intent?.record(key, x.ino, y.ino);
      checkSys(await backingSys().rename2Async(this.abs(from), this.abs(to), RENAME_EXCHANGE), 'rename');
    }
    this.inodes.exchanged(from, to);
    this.touchedDirs.add(parentOf(from)).add(parentOf(to));
    return 'applied';
  }

  /** fsyncs every file and directory changed since the last call. */
  async durable(): Promise<void> {
    for (const rel of this.touchedFiles) await fsyncPath(this.abs(rel));
    for (const rel of this.touchedDirs) await fsyncPath(this.abs(rel));
    this.touchedFiles.clear();
    this.touchedDirs.clear();
  }

  private abs(rel: string): string {
    return rel === '' ? this.mirrorDir : nodePath.join(this.mirrorDir, rel);
  }

  /** The mirror path of a data/attr op's inode; undefined when that inode has no name any more. */
  private dataPath(r: JournalRecord): string | undefined {
    const known = this.inodes.pathOf(r.ino);
    if (known !== undefined) return known;
    if (this.inodes.isGone(r.ino)) return undefined;
    const rel = checkedRel(r.path);
    if (r.ino !== null) this.inodes.learn(r.ino, rel);
    return rel;
  }

  /** The mirror path of an entry: its directory by inode when known (renamed since?), else by the record's path. */
  private entryPath(parentIno: number | undefined, path: string): string {
    const rel = checkedRel(path);
    if (rel === '') return '';
    const name = nodePath.posix.basename(rel);
    const parent = this.inodes.pathOf(parentIno);
    if (parent !== undefined) return parent === '' ? name : `${parent}/${name}`;
    if (parentIno !== undefined) this.inodes.learn(parentIno, parentOf(rel));
    return rel;
  }

  private created(r: JournalRecord, rel: string): void {
    if (r.ino !== null) this.inodes.created(r.ino, rel);
    this.touchedFiles.add(rel);
    this.touchedDirs.add(parentOf(rel));
  }

  private async ensureParent(rel: string): Promise<void> {
    const parent = parentOf(rel);
    if (parent !== '') await fsp.mkdir(this.abs(parent), { recursive: true });
  }

  private async withFile(rel: string, fn: (h: fsp.FileHandle) => Promise<unknown>): Promise<void> {
    await this.ensureParent(rel);
    const h = await fsp.open(this.abs(rel), constants.O_WRONLY | constants.O_CREAT, 0o644);
    try {
      await fn(h);
    } finally {
      await h.close();
    }
    this.touchedFiles.add(rel);
  }
}

/** A created entry's owner (the caller who created it through the agent), if the record names one; EPERM (not root) is ignored. */
async function giveToOwner(abs: string, a: Record<string, unknown>): Promise<void> {
  const owner = a.owner as { uid?: unknown; gid?: unknown } | undefined;
  if (!owner || !Number.isSafeInteger(owner.uid) || !Number.isSafeInteger(owner.gid)) return;
  await fsp.lchown(abs, Number(owner.uid), Number(owner.gid)).catch(ignore('EPERM'));
}

function checkedRel(path: string): string {
  const rel = relOf(path);
  if (rel === undefined) throw new InternalError('INTERNAL', 'journal path escapes the mirror', { path });
  return rel;
}

/** The bytes of a journaled write (checksummed with the record by the stream that read it). */
function dataOf(r: JournalRecord): Buffer {
  const length = (r.args.data as { length?: unknown } | undefined)?.length;
  if (!r.payload || r.payload.length !== length) {
    throw new InternalError('INTERNAL', 'write record carries no data or not as much as it wrote', { length, carried: r.payload?.length });
  }
  return r.payload;
}

async function writeAll(h: fsp.FileHandle, data: Buffer, offset: number): Promise<void> {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InternalError('INTERNAL', 'write record has a bad offset', { offset });
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await h.write(data, done, data.length - done, offset + done);
    done += bytesWritten;
  }
}

async function fsyncPath(path: string): Promise<void> {
  let h: fsp.FileHandle;
  try {
    h = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return; // gone since (removed later in the batch), or a symlink: its directory is synced
  }
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

function ignore(code: string): (e: NodeJS.ErrnoException) => void {
  return (e) => {
    if (e.code !== code) throw e;
  };
}
