import { constants } from 'fs';
import { SessionLostError } from '../../common/errors';
import { onValidatedInode } from '../coherency/validated-inode';
import { CoherencyCore, CoherencyCoreDeps } from '../coherency/coherency-core';
import { DataReads } from '../coherency/data-reads';
import { DataWrites } from '../coherency/data-writes';
import { copyUnderTokens } from '../coherency/copy-range-op';
import { fallocateUnderTokens } from '../coherency/fallocate-op';
import { seekUnderTokens } from '../coherency/seek-op';
import { MetaOps } from '../coherency/meta-ops';
import type { Hook, Next, Vop, VopResult, VopResults } from '../vop';

/**
 * What the coherency hook needs:
 * - `client`: the session (TokenClient) tokens are acquired through;
 * - `namespace`: resources are `<namespace>/<ino>`;
 * - `clock`: flush timers and the self-fencing check (same clock as the client);
 * - `logger`: the agent's logger (a child is made);
 * - `backing`: flushes and size checks outside the vop chain
 *   (`coherencyBackingOf(store)` for the agent's BackingStore);
 * - `options`: cache sizes and timings (CoherencyOptions).
 */
export type CoherencyHookDeps = CoherencyCoreDeps;

/** The hook, with its state for the agent (flushAll on unmount, stats, releaseIdle). */
export type CoherencyHook = Hook & { readonly core: CoherencyCore };

/** Ops that need a token from the coordinator before they may run. */
const NEEDS_TOKEN = new Set<Vop['op']>([
  'read', 'write', 'copyFileRange', 'getattr', 'truncate', 'fallocate', 'lseek', 'readdir',
  'create', 'mkdir', 'mknod', 'symlink', 'unlink', 'rmdir', 'rename', 'link',
  'chmod', 'chown', 'utimens', 'setxattr', 'removexattr',
]);

/**
 * The cache-coherency hook (DESIGN §7): every op takes the tokens that make
 * it coherent across hosts, from the local token cache when it can.
 *
 * While the session is lost (client.isFenced()), ops that need a token
 * fail at once with SessionLostError(LEASE_DEADLINE_PASSED) → EIO instead
 * of blocking until a new session exists (DESIGN §5 allows either). Why
 * EIO: a FUSE request that blocks holds the calling process in
 * uninterruptible sleep and cannot be cancelled from user space; the
 * outage may last the whole coordinator failover; and §5 already says an
 * evicted agent's pending ops fail with EIO. Applications see an error they
 * can retry; ops resume as soon as the client has a new session (isFenced()
 * turns false). fsync, flush and release still run: they need no token,
 * and they are where lost dirty data is reported.
 */
export function createCoherencyHook(deps: CoherencyHookDeps): CoherencyHook {
  const core = new CoherencyCore(deps);
  const reads = new DataReads(core);
  const data = new DataWrites(core);
  const meta = new MetaOps(core);
  /** Handles opened with O_APPEND: their writes go through at the end of file. */
  const appendHandles = new Set<number>();

  const dispatch = async (vop: Vop, next: Next): Promise<VopResult> => {
    if (NEEDS_TOKEN.has(vop.op) && core.client.isFenced()) {
      throw new SessionLostError('LEASE_DEADLINE_PASSED', 'agent has no session: file operation refused', { op: vop.op, path: vop.path });
    }
    const ino = vop.ino;
    switch (vop.op) {
      case 'open': {
        const result = (await next(vop)) as VopResults['open'];
        if ((vop.args.flags & constants.O_APPEND) !== 0) appendHandles.add(result.fh);
        return result;
      }
      case 'fsync':
      case 'flush':
        return data.sync(vop, next, ino);
      case 'release':
        try {
          return await data.sync(vop, next, ino);
        } finally {
          appendHandles.delete(vop.args.fh);
        }
      case 'read':
        return ino === undefined ? next(vop) : reads.read(vop, next, ino);
      case 'write':
        return ino === undefined ? next(vop) : data.write(vop, next, ino, appendHandles.has(vop.args.fh));
      case 'truncate':
        if (ino === undefined) return next(vop);
        return vop.args.fh === undefined ? onValidatedInode(core, vop, next, ino, (v, n, i) => data.truncate(v, n, i)) : data.truncate(vop, next, ino);
      case 'fallocate':
        return ino === undefined ? next(vop) : fallocateUnderTokens(core, vop, next, ino);
      case 'lseek':
        return ino === undefined ? next(vop) : seekUnderTokens(core, vop, next, ino);
      case 'copyFileRange':
        return ino === undefined ? next(vop) : copyUnderTokens(core, vop, next, ino);
      case 'getattr':
        return ino === undefined ? next(vop) : meta.getattr(vop, next, ino);
      case 'readdir':
        return ino === undefined ? next(vop) : meta.readdir(vop, next, ino);
      case 'chmod':
      case 'chown':
      case 'utimens':
      case 'setxattr':
      case 'removexattr':
        return ino === undefined ? next(vop) : onValidatedInode(core, vop, next, ino, (v, n, i) => meta.changeAttr(v, n, i));
      case 'create': {
        const result = (await meta.changeDir(vop, next)) as VopResults['create'];
        if (((vop.args.flags ?? 0) & constants.O_APPEND) !== 0) appendHandles.add(result.fh);
        return result;
      }
      case 'mkdir':
      case 'mknod':
      case 'symlink':
      case 'unlink':
      case 'rmdir':
      case 'rename':
      case 'link':
        return meta.changeDir(vop, next);
      default:
        return next(vop);
    }
  };

  const hook = ((vop: Vop, next: Next) => dispatch(vop, next)) as CoherencyHook;
  Object.defineProperty(hook, 'core', { value: core, enumerable: true });
  return hook;
}

export { coherencyBackingOf } from '../coherency/coherency-backing';
export type { CoherencyBacking } from '../coherency/coherency-backing';
export type { CoherencyOptions } from '../coherency/coherency-core';
