import { ErrorReason, isCoherdError } from './errors';

/** The one table from domain error reasons to errno names for FUSE replies. */
export const ERRNO_BY_REASON: Record<ErrorReason, string> = {
  INVALID_RANGE: 'EINVAL',
  INVALID_MODE: 'EINVAL',
  INVALID_ARGUMENT: 'EINVAL',
  MESSAGE_TOO_LARGE: 'EFBIG',
  PROTOCOL_VIOLATION: 'EIO',
  SESSION_NOT_FOUND: 'EIO',
  SESSION_NOT_OWNED: 'EACCES',
  SESSION_EXPIRED: 'EIO',
  SESSION_EVICTED: 'EIO',
  LOCK_NOT_FOUND: 'ENOLCK',
  LOCK_CONFLICT: 'EAGAIN',
  STALE_VERSION: 'EAGAIN',
  DEADLOCK: 'EDEADLK',
  TIMEOUT: 'ETIMEDOUT',
  CANCELLED: 'EINTR',
  NOT_LEADER: 'EAGAIN',
  RECOVERING: 'EAGAIN',
  ETCD_UNAVAILABLE: 'EAGAIN',
  COORDINATOR_UNAVAILABLE: 'EIO',
  LEASE_DEADLINE_PASSED: 'EIO',
  QUEUE_FULL: 'EAGAIN',
  SESSION_CLOSING: 'EIO',
  WAITER_QUOTA: 'ENOLCK',
  WAIT_GRAPH_TOO_LARGE: 'ENOLCK',
  SESSION_QUOTA: 'EAGAIN',
  RATE_LIMITED: 'EAGAIN',
  PERMISSION_DENIED: 'EACCES',
  INTERNAL: 'EIO',
};

/** errno name for anything thrown: domain errors by table, Node fs errors by their own code. */
export function errnoNameOf(e: unknown): string {
  if (isCoherdError(e)) return ERRNO_BY_REASON[e.reason] ?? 'EIO';
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
  return 'EIO';
}
