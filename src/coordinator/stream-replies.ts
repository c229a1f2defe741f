import { CancelledError } from '../common/errors';
import { toWireError } from '../common/grpc-status-table';
import type { Grant } from './lock-table/types';
import { lockInfoToWire } from './lock-info';

/** The Error body of a reply on the Session stream, from anything thrown; `nowMs` (table clock) ages a conflicting lock. */
export function errorBody(e: unknown, nowMs?: number): object {
  const w = toWireError(e);
  const details = (e as { details?: { leaderAddress?: string; conflict?: Grant } })?.details;
  const conflict = details?.conflict;
  return {
    code: w.codeName, reason: w.reason, message: w.message, retryable: w.retryable, leaderAddress: String(details?.leaderAddress ?? ''),
    ...(conflict ? { conflict: lockInfoToWire(conflict, nowMs ?? conflict.grantedAtMs) } : {}),
  };
}

export function cancelledError(): CancelledError {
  return new CancelledError('CANCELLED', 'cancelled by the client');
}
