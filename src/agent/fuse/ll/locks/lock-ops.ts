import { LowLevelOps } from '../low-level-ops';
import { ClusterLocks } from './cluster-locks';

/** The xattr that shows the newest fencing token this host holds for a file ("epoch.counter"). */
export const FENCING_XATTR = 'coherd.fencing';

/**
 * Adds cluster fcntl/flock locks to a filesystem's ops: getlk/setlk/flock
 * go to ClusterLocks; flush drops the owner's fcntl locks (POSIX: any
 * close does), release with flock_release drops the flock lock; the
 * coherd.fencing xattr reads the holder's fencing token.
 */
export function withClusterLocks(ops: LowLevelOps, locks: ClusterLocks): LowLevelOps {
  return {
    ...ops,
    getlk: (ctx, ino, _fh, owner, lock) => locks.getlk(ino, owner, lock, ctx.signal),
    setlk: (ctx, ino, _fh, owner, lock, sleep) => locks.setlk(ino, owner, lock, sleep, ctx.signal),
    flock: (ctx, ino, _fh, owner, op) => locks.flock(ino, owner, op, ctx.signal),
    async flush(ctx, ino, fh, owner) {
      await locks.releasePosix(ino, owner);
      await ops.flush?.(ctx, ino, fh, owner);
    },
    async release(ctx, ino, fh, owner, flockRelease) {
      if (flockRelease) await locks.releaseFlock(ino, owner);
      await ops.release?.(ctx, ino, fh, owner, flockRelease);
    },
    async getxattr(ctx, ino, name, size) {
      if (name !== FENCING_XATTR) {
        if (!ops.getxattr) throw Object.assign(new Error('no xattrs'), { code: 'ENOTSUP' });
        return ops.getxattr(ctx, ino, name, size);
      }
      const token = locks.fencingTokenOf(ino);
      if (token === null) throw Object.assign(new Error('no lock held on this file'), { code: 'ENODATA' });
      return Buffer.from(token);
    },
  };
}
