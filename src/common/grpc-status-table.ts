import { status as Status } from '@grpc/grpc-js';
import { CoherdError, ErrorReason, isCoherdError } from './errors';

/** The one table from domain error reasons to gRPC status codes. */
export const STATUS_BY_REASON: Record<ErrorReason, Status> = {
  INVALID_RANGE: Status.INVALID_ARGUMENT,
  INVALID_MODE: Status.INVALID_ARGUMENT,
  INVALID_ARGUMENT: Status.INVALID_ARGUMENT,
  MESSAGE_TOO_LARGE: Status.RESOURCE_EXHAUSTED,
  PROTOCOL_VIOLATION: Status.INVALID_ARGUMENT,
  SESSION_NOT_FOUND: Status.NOT_FOUND,
  SESSION_NOT_OWNED: Status.PERMISSION_DENIED,
  SESSION_EXPIRED: Status.NOT_FOUND,
  SESSION_EVICTED: Status.ABORTED,
  LOCK_NOT_FOUND: Status.NOT_FOUND,
  LOCK_CONFLICT: Status.ABORTED,
  STALE_VERSION: Status.FAILED_PRECONDITION,
  DEADLOCK: Status.ABORTED,
  TIMEOUT: Status.DEADLINE_EXCEEDED,
  CANCELLED: Status.CANCELLED,
  NOT_LEADER: Status.UNAVAILABLE,
  RECOVERING: Status.UNAVAILABLE,
  ETCD_UNAVAILABLE: Status.UNAVAILABLE,
  COORDINATOR_UNAVAILABLE: Status.UNAVAILABLE,
  LEASE_DEADLINE_PASSED: Status.UNAVAILABLE,
  QUEUE_FULL: Status.RESOURCE_EXHAUSTED,
  SESSION_CLOSING: Status.FAILED_PRECONDITION,
  WAITER_QUOTA: Status.RESOURCE_EXHAUSTED,
  WAIT_GRAPH_TOO_LARGE: Status.RESOURCE_EXHAUSTED,
  SESSION_QUOTA: Status.RESOURCE_EXHAUSTED,
  RATE_LIMITED: Status.RESOURCE_EXHAUSTED,
  PERMISSION_DENIED: Status.PERMISSION_DENIED,
  INTERNAL: Status.INTERNAL,
};

export interface WireError {
  code: Status;
  codeName: string;
  reason: ErrorReason;
  message: string;
  retryable: boolean;
}

/** Converts anything thrown into its wire form; unknown errors become INTERNAL. */
export function toWireError(e: unknown): WireError {
  const err: CoherdError = isCoherdError(e)
    ? e
    : new CoherdError('INTERNAL', 'internal error', { cause: e instanceof Error ? e.message : String(e) });
  const code = STATUS_BY_REASON[err.reason] ?? Status.INTERNAL;
  return { code, codeName: Status[code] ?? 'UNKNOWN', reason: err.reason, message: err.message, retryable: err.retryable };
}
