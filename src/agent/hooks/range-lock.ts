import { SessionLostError } from '../../common/errors';
import { Logger } from '../../common/logger';
import { Hook, MUTATING_OPS } from '../vop';

export interface RangeLockHookOptions {
  /**
   * true once the agent's session is lost or its lease deadline passed
   * (TokenClient.isFenced()). Called for every mutating vop, so it must be
   * cheap (a clock comparison).
   */
  isFenced: () => boolean;
  logger: Logger;
}

/**
 * The innermost hook, the last check before the backing store.
 *
 * Decision (why this hook enforces fencing rather than range locks):
 * cluster range locks are advisory, like fcntl locks, and reach
 * applications only through the agent's local API (DESIGN §7: fuse-native
 * has no lock/flock op). A FUSE write carries no caller identity either
 * (fuse-native exposes no fuse_get_context: no pid, no lock owner), so this
 * hook cannot tell whether a write comes from the lock owner; refusing
 * writes by "someone else" would turn advisory locks into mandatory locks
 * that also block the owner. What it can enforce, and what DESIGN §5/§8.5
 * require at exactly this point, is self-fencing: a paused or partitioned
 * agent never writes after its lease deadline. Being innermost, the check
 * runs after any wait for tokens in the coherency hook, as close to the
 * backing write as user space gets, so a vop that acquired its token
 * before the deadline but reached the backing store after it is refused.
 *
 * Every mutating vop (MUTATING_OPS) is rejected with
 * SessionLostError(LEASE_DEADLINE_PASSED), which the errno table maps to
 * EIO. Reads, getattr, fsync of already-written data and release pass.
 */
export function createRangeLockHook(options: RangeLockHookOptions): Hook {
  const logger = options.logger.child({ component: 'range-lock-hook' });
  const { isFenced } = options;
  let warned = false; // one warning per fenced period, not one per refused vop
  return (vop, next) => {
    if (!MUTATING_OPS.has(vop.op)) return next(vop);
    if (isFenced()) {
      if (!warned) logger.warn('mutating vops refused while fenced', { op: vop.op, ino: vop.ino });
      warned = true;
      return Promise.reject(new SessionLostError('LEASE_DEADLINE_PASSED', 'agent is fenced: no writes to the backing store', { op: vop.op, ino: vop.ino }));
    }
    warned = false;
    return next(vop);
  };
}
