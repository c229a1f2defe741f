import { CancelledError } from '../common/errors';
import { toWireError } from '../common/grpc-status-table';

/** The Error body of a reply on the Session stream, from anything thrown. */
export function errorBody(e: unknown): object {
  const w = toWireError(e);
  return { code: w.codeName, reason: w.reason, message: w.message, retryable: w.retryable, leaderAddress: String((e as { details?: { leaderAddress?: string } })?.details?.leaderAddress ?? '') };
}

export function cancelledError(): CancelledError {
  return new CancelledError('CANCELLED', 'cancelled by the client');
}
