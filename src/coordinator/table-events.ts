import { Clock } from '../common/clock';
import { Logger } from '../common/logger';
import { LockConflictError, TimeoutError, CancelledError, ResourceExhaustedError } from '../common/errors';
import { toWireError } from '../common/grpc-status-table';
import { rangeToWire } from '../common/wire';
import { LockTableEvent } from './lock-table/types';
import { lockInfoToWire, parseTableRequestId } from './lock-info';
import type { SessionDirectory } from './session-directory';

/** Delivers what the lock table decided later (grants to waiters, failures, revokes) to the sessions concerned. */
export function routeTableEvent(e: LockTableEvent, registry: SessionDirectory, clock: Clock, revokeDeadlineMs: number, logger: Logger): void {
  switch (e.kind) {
    case 'granted': {
      const { sessionId, clientRequestId } = parseTableRequestId(e.grant.requestId);
      push(registry, sessionId, { requestId: clientRequestId, granted: { lock: lockInfoToWire(e.grant, clock.nowMs()) } }, logger);
      return;
    }
    case 'failed': {
      const { sessionId, clientRequestId } = parseTableRequestId(e.requestId);
      const err = e.reason === 'TIMEOUT' ? new TimeoutError('TIMEOUT', e.message)
        : e.reason === 'CANCELLED' ? new CancelledError('CANCELLED', e.message)
        : e.reason === 'WAIT_GRAPH_TOO_LARGE' ? new ResourceExhaustedError(e.reason, e.message)
        : new LockConflictError(e.reason, e.message);
      const w = toWireError(err);
      push(registry, sessionId, { requestId: clientRequestId, error: { code: w.codeName, reason: w.reason, message: w.message, retryable: w.retryable } }, logger);
      return;
    }
    case 'revoke':
      logger.debug('revoking token', { session: e.holder.sessionId, lockId: e.lockId, resource: e.resource, attempt: e.attempt });
      push(registry, e.holder.sessionId, {
        requestId: 0,
        revoke: { lockId: e.lockId, range: rangeToWire(e.range), wantedMode: e.wantedMode, attempt: e.attempt, deadlineMs: revokeDeadlineMs, version: e.version },
      }, logger);
      return;
    case 'revokeOverdue':
      logger.warn('holder did not answer a revoke; evicting', { session: e.holder.sessionId, lockId: e.lockId, resource: e.resource });
      if (registry.get(e.holder.sessionId)) {
        void registry.evict(e.holder.sessionId).catch((err) => logger.error('eviction failed', { session: e.holder.sessionId, error: (err as Error).message }));
      }
      return;
  }
}

function push(registry: SessionDirectory, sessionId: string, message: object, logger: Logger): void {
  const session = registry.get(sessionId);
  if (!session) return;
  try {
    session.outbox.push(message);
  } catch {
    logger.warn('session outbox full; evicting', { session: sessionId });
    void registry.evict(sessionId).catch(() => undefined);
  }
}
