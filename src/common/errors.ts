/**
 * Domain errors. Each has a machine-readable `reason` that travels on the
 * wire; status codes and errno values are assigned in one table each
 * (grpc-status-table.ts, errno-table.ts). Never match on messages.
 */
export type ErrorReason =
  | 'INVALID_RANGE'
  | 'INVALID_MODE'
  | 'INVALID_ARGUMENT'
  | 'MESSAGE_TOO_LARGE'
  | 'PROTOCOL_VIOLATION'
  | 'SESSION_NOT_FOUND'
  | 'SESSION_NOT_OWNED'
  | 'SESSION_EXPIRED'
  | 'SESSION_EVICTED'
  | 'LOCK_NOT_FOUND'
  | 'LOCK_CONFLICT'
  | 'STALE_VERSION'
  | 'DEADLOCK'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'NOT_LEADER'
  | 'RECOVERING'
  | 'ETCD_UNAVAILABLE'
  | 'COORDINATOR_UNAVAILABLE'
  | 'LEASE_DEADLINE_PASSED'
  | 'QUEUE_FULL'
  | 'SESSION_CLOSING'
  | 'WAITER_QUOTA'
  | 'WAIT_GRAPH_TOO_LARGE'
  | 'SESSION_QUOTA'
  | 'RATE_LIMITED'
  | 'PERMISSION_DENIED'
  | 'INTERNAL';

export interface CoherdErrorOptions {
  cause?: unknown;
  retryable?: boolean;
}

export class CoherdError extends Error {
  readonly reason: ErrorReason;
  readonly details: Record<string, unknown>;
  readonly retryable: boolean;

  constructor(reason: ErrorReason, message: string, details: Record<string, unknown> = {}, options: CoherdErrorOptions = {}) {
    // A domain error is an expected outcome, often in bursts (10,000 waiters timing out together): its reason and
    // details say what happened, and capturing a stack trace for each cost the coordinator milliseconds. Only
    // INTERNAL (a bug) keeps one.
    const limit = Error.stackTraceLimit;
    if (reason !== 'INTERNAL') Error.stackTraceLimit = 0;
    try {
      super(message, options.cause === undefined ? undefined : { cause: options.cause });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.name = 'CoherdError';
    this.reason = reason;
    this.details = details;
    this.retryable = options.retryable ?? false;
  }
}

export function isCoherdError(e: unknown): e is CoherdError {
  return e instanceof CoherdError;
}

function subclass(name: string, retryable: boolean) {
  return class extends CoherdError {
    constructor(reason: ErrorReason, message: string, details: Record<string, unknown> = {}, options: CoherdErrorOptions = {}) {
      super(reason, message, details, { retryable, ...options });
      this.name = name;
    }
  };
}

/** Malformed input: a range, a mode, an id, a message. */
export class InvalidArgumentError extends subclass('InvalidArgumentError', false) {}
/** A session, lock or request that does not exist (or not for this caller). */
export class NotFoundError extends subclass('NotFoundError', false) {}
/** The caller may not do this (another connection's session, admin only). */
export class PermissionDeniedError extends subclass('PermissionDeniedError', false) {}
/** A try-lock found a conflict, or a wait would deadlock. */
export class LockConflictError extends subclass('LockConflictError', false) {}
/** The wait timed out. */
export class TimeoutError extends subclass('TimeoutError', true) {}
/** The caller cancelled. */
export class CancelledError extends subclass('CancelledError', false) {}
/** The session ended: expired, evicted, or the local lease deadline passed. */
export class SessionLostError extends subclass('SessionLostError', false) {}
/** Coordinator or etcd cannot serve now; retry elsewhere or later. */
export class UnavailableError extends subclass('UnavailableError', true) {}
/** A bound was hit (queue length, message size). */
export class ResourceExhaustedError extends subclass('ResourceExhaustedError', false) {}
/** A broken invariant: a bug. */
export class InternalError extends subclass('InternalError', false) {}

/** A revoke answer planned against an older version of the lock; the holder answers the resent revoke. */
export class StaleVersionError extends subclass('StaleVersionError', true) {}

/** Rebuilds a domain error from its wire form (reason + message). */
export function errorFromReason(reason: string, message: string, details: Record<string, unknown> = {}): CoherdError {
  const r = reason as ErrorReason;
  switch (r) {
    case 'INVALID_RANGE': case 'INVALID_MODE': case 'INVALID_ARGUMENT': case 'PROTOCOL_VIOLATION':
      return new InvalidArgumentError(r, message, details);
    case 'MESSAGE_TOO_LARGE': case 'QUEUE_FULL': case 'WAITER_QUOTA': case 'WAIT_GRAPH_TOO_LARGE': case 'SESSION_QUOTA':
      return new ResourceExhaustedError(r, message, details);
    case 'RATE_LIMITED':
      return new ResourceExhaustedError(r, message, details, { retryable: true });
    case 'SESSION_NOT_FOUND': case 'LOCK_NOT_FOUND':
      return new NotFoundError(r, message, details);
    case 'SESSION_NOT_OWNED': case 'PERMISSION_DENIED':
      return new PermissionDeniedError(r, message, details);
    case 'LOCK_CONFLICT': case 'DEADLOCK':
      return new LockConflictError(r, message, details);
    case 'TIMEOUT':
      return new TimeoutError(r, message, details);
    case 'STALE_VERSION':
      return new StaleVersionError(r, message, details);
    case 'CANCELLED':
      return new CancelledError(r, message, details);
    case 'SESSION_EXPIRED': case 'SESSION_EVICTED': case 'LEASE_DEADLINE_PASSED': case 'SESSION_CLOSING':
      return new SessionLostError(r, message, details);
    case 'NOT_LEADER': case 'RECOVERING': case 'ETCD_UNAVAILABLE': case 'COORDINATOR_UNAVAILABLE':
      return new UnavailableError(r, message, details);
    default:
      return new InternalError('INTERNAL', message, { ...details, reason });
  }
}
