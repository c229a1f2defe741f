import { ByteRange, END_OF_FILE, overlaps } from '../../../../common/byte-range';
import { InvalidArgumentError, LockConflictError } from '../../../../common/errors';
import { Logger } from '../../../../common/logger';
import { formatFencingToken } from '../../../../common/wire';
import { ClientGrant, FencingToken, TokenClient } from '../../../client/types';
import { FuseLock } from '../fuse-request';

const F_RDLCK = 0, F_WRLCK = 1, F_UNLCK = 2;
const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8;

/** The part of the agent's session the lock mapping uses. */
export type RangeLockClient = Pick<TokenClient, 'acquire' | 'convert' | 'release'>;

export interface ClusterLocksOptions {
  client: RangeLockClient;
  /** The coordinator resource of a node id (`<namespace>/<backing ino>`). */
  resourceOf(ino: number): string;
  logger: Logger;
}

/** One held piece; pid: the process that took it (F_GETLK reports it to another process of this host). */
interface Segment { range: ByteRange; mode: 'SHARED' | 'EXCLUSIVE'; lockId: number; fencingToken: FencingToken; pid: number }

/** fuse's (start, len) with len 0 = to the end, as a half-open range. */
export function rangeOfLock(lock: FuseLock): ByteRange {
  const start = Math.max(0, lock.start);
  return { start, end: lock.len > 0 ? start + lock.len : END_OF_FILE };
}

/**
 * fcntl (POSIX) and flock locks as coherd range locks, held by the agent's
 * session with the kernel's lock_owner as owner, so they exclude the same
 * locks taken through any other host's mount. Per (inode, owner) the held
 * pieces are tracked like the kernel's own posix lock list: a new lock
 * replaces the owner's overlapping pieces (acquired first, the same holder
 * never conflicts with itself, then the old pieces are shrunk or released:
 * giving back never waits); F_UNLCK of a middle part splits a piece.
 * Operations on one (inode, owner) run one at a time.
 */
export class ClusterLocks {
  private readonly held = new Map<string, Segment[]>();
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly o: ClusterLocksOptions) {}

  /** F_SETLK / F_SETLKW (wait) / F_UNLCK. Rejects with LockConflictError (EAGAIN), DEADLOCK (EDEADLK), CancelledError (EINTR). */
  setlk(ino: number, owner: bigint, lock: FuseLock, wait: boolean, signal: AbortSignal): Promise<void> {
    const key = `p|${ino}|${owner}`;
    const range = rangeOfLock(lock);
    return this.serial(key, async () => {
      if (lock.type === F_UNLCK) return this.subtract(key, ino, range, this.posixOwner(owner));
      if (lock.type !== F_RDLCK && lock.type !== F_WRLCK) throw new InvalidArgumentError('INVALID_MODE', 'unknown lock type', { type: lock.type });
      const mode = lock.type === F_RDLCK ? 'SHARED' : 'EXCLUSIVE';
      const g = await this.o.client.acquire({ resource: this.o.resourceOf(ino), space: 'range', mode, range, owner: this.posixOwner(owner), wait, signal });
      await this.subtract(key, ino, range, this.posixOwner(owner));
      this.segments(key).push(segmentOf(g, mode, lock.pid));
    });
  }

  /**
   * F_GETLK: a try-lock probe as the same owner (its own locks never
   * conflict), released at once. The coordinator names the granted lock in
   * the way: its type and range are reported, and its pid when a process
   * of this host holds it (another host's pid means nothing here: 0). When
   * only queued requests are in the way (no lock named), the asked range
   * is reported as held (F_SETLK would fail the same way), F_RDLCK if a
   * read probe would pass.
   */
  async getlk(ino: number, owner: bigint, lock: FuseLock, signal: AbortSignal): Promise<FuseLock> {
    if (lock.type === F_UNLCK) return { ...lock, type: F_UNLCK };
    const asked = (type: number): FuseLock => ({ type, start: lock.start, len: lock.len, pid: 0 });
    const first = await this.probe(ino, owner, lock, lock.type === F_RDLCK ? 'SHARED' : 'EXCLUSIVE', signal);
    if (first === true) return asked(F_UNLCK);
    if (first !== false) return this.reported(first);
    if (lock.type === F_RDLCK) return asked(F_WRLCK);
    return asked((await this.probe(ino, owner, lock, 'SHARED', signal)) === true ? F_RDLCK : F_WRLCK);
  }

  /** true: granted (and given back); the lock in the way; false: refused with none named. */
  private async probe(ino: number, owner: bigint, lock: FuseLock, mode: 'SHARED' | 'EXCLUSIVE', signal: AbortSignal): Promise<true | false | ClientGrant> {
    try {
      const g = await this.o.client.acquire({ resource: this.o.resourceOf(ino), space: 'range', mode, range: rangeOfLock(lock), owner: this.posixOwner(owner), wait: false, signal });
      await this.o.client.release(g.lockId);
      return true;
    } catch (e) {
      if (!(e instanceof LockConflictError)) throw e;
      return (e.details as { conflict?: ClientGrant }).conflict ?? false;
    }
  }

  private reported(g: ClientGrant): FuseLock {
    let pid = 0;
    for (const segs of this.held.values()) for (const s of segs) if (s.lockId === g.lockId) pid = s.pid;
    const len = g.range.end >= END_OF_FILE ? 0 : g.range.end - g.range.start;
    return { type: g.mode === 'SHARED' ? F_RDLCK : F_WRLCK, start: g.range.start, len, pid };
  }

  /** flock(2): one whole-file lock per open file description, independent of fcntl locks. */
  flock(ino: number, owner: bigint, op: number, signal: AbortSignal): Promise<void> {
    const key = `f|${ino}|${owner}`;
    return this.serial(key, async () => {
      const old = this.held.get(key) ?? [];
      if (op & LOCK_UN) return this.releaseAll(key);
      const mode = op & LOCK_EX ? 'EXCLUSIVE' : op & LOCK_SH ? 'SHARED' : null;
      if (!mode) throw new InvalidArgumentError('INVALID_MODE', 'unknown flock op', { op });
      if (old.length === 1 && old[0].mode === mode) return;
      const g = await this.o.client.acquire({
        resource: `${this.o.resourceOf(ino)}/flock`, space: 'range', mode, range: { start: 0, end: END_OF_FILE },
        owner: `flock-${owner.toString(16)}`, wait: (op & LOCK_NB) === 0, signal,
      });
      await this.releaseAll(key);
      this.held.set(key, [segmentOf(g, mode, 0)]);
    });
  }

  /** close() of any fd of the owner drops its fcntl locks on the file (POSIX); the kernel says so with flush. */
  releasePosix(ino: number, owner: bigint): Promise<void> {
    const key = `p|${ino}|${owner}`;
    if (!this.held.has(key)) return Promise.resolve();
    return this.serial(key, () => this.releaseAll(key));
  }

  /** The last close of an open file description drops its flock lock. */
  releaseFlock(ino: number, owner: bigint): Promise<void> {
    const key = `f|${ino}|${owner}`;
    if (!this.held.has(key)) return Promise.resolve();
    return this.serial(key, () => this.releaseAll(key));
  }

  /** "epoch.counter" of the newest lock this host holds on ino, for the coherd.fencing xattr. */
  fencingTokenOf(ino: number): string | null {
    let best: FencingToken | null = null;
    for (const [key, segs] of this.held) {
      if (key.split('|')[1] !== String(ino)) continue;
      for (const s of segs) {
        const t = s.fencingToken;
        if (!best || t.epoch > best.epoch || (t.epoch === best.epoch && t.counter > best.counter)) best = t;
      }
    }
    return best ? formatFencingToken(best) : null;
  }

  private posixOwner(owner: bigint): string {
    return `posix-${owner.toString(16)}`;
  }

  private segments(key: string): Segment[] {
    let s = this.held.get(key);
    if (!s) this.held.set(key, (s = []));
    return s;
  }

  private async releaseAll(key: string): Promise<void> {
    const segs = this.held.get(key) ?? [];
    this.held.delete(key);
    await Promise.all(segs.map((s) => this.o.client.release(s.lockId).catch((e: Error) => {
      this.o.logger.warn('lock release failed', { lockId: s.lockId, error: e.message });
    })));
  }

  /** Gives back the owner's pieces inside range: release, shrink, or split (the right part re-taken without waiting). */
  private async subtract(key: string, ino: number, range: ByteRange, owner: string): Promise<void> {
    const segs = this.held.get(key);
    if (!segs) return;
    const keep: Segment[] = [];
    for (const s of segs) {
      if (!overlaps(s.range, range)) { keep.push(s); continue; }
      const left = s.range.start < range.start ? { start: s.range.start, end: range.start } : null;
      const right = range.end < s.range.end ? { start: range.end, end: s.range.end } : null;
      if (!left && !right) {
        await this.o.client.release(s.lockId);
        continue;
      }
      if (left && right) {
        try {
          const g = await this.o.client.acquire({ resource: this.o.resourceOf(ino), space: 'range', mode: s.mode, range: right, owner, wait: false });
          keep.push(segmentOf(g, s.mode, s.pid));
        } catch (e) {
          this.o.logger.warn('lock split could not re-take the right part; keeping the whole piece', { lockId: s.lockId, error: (e as Error).message });
          keep.push(s);
          continue;
        }
      }
      const g = await this.o.client.convert(s.lockId, { mode: s.mode, range: (left ?? right)!, wait: false });
      keep.push(segmentOf(g, s.mode, s.pid));
    }
    if (keep.length) this.held.set(key, keep);
    else this.held.delete(key);
  }

  private serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.chains.set(key, tail);
    void tail.then(() => { if (this.chains.get(key) === tail) this.chains.delete(key); });
    return next;
  }
}

function segmentOf(g: ClientGrant, mode: 'SHARED' | 'EXCLUSIVE', pid: number): Segment {
  return { range: g.range, mode, lockId: g.lockId, fencingToken: g.fencingToken, pid };
}
