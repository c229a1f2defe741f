import type { Clock } from '../../common/clock';
import type { Logger } from '../../common/logger';
import { SessionLostError, errorFromReason } from '../../common/errors';
import { grantFromWire } from './grant-wire';
import type { HeldGrants } from './held-grants';
import type { RequestChannel } from './request-channel';
import { RevokeAnsweringDeps, answerRevoke, revokeNoticeFromWire } from './revoke-answering';
import type { ServerMessage } from './session-connection';

/** What routing the coordinator's messages needs from the client. */
export interface ServerMessageRoutingDeps {
  channel: RequestChannel;
  clock: Clock;
  held: HeldGrants;
  revokeAnswering: RevokeAnsweringDeps;
  /** Why the session is over (fenced, or 'closed'); undefined while it lives. */
  endedReason(): string | undefined;
  fence(reason: string): void;
  releaseLazily(lockId: number): void;
  /** A heartbeat sent at sentMs was acknowledged with this TTL (LeaseDeadline.confirmed). */
  leaseConfirmed(sentMs: number, ttlMs: number): void;
  logger: Logger;
}

/**
 * Routes one message of the coordinator's stream, once the channel took its
 * sequence number: a reply goes to the request that waits for it, a revoke
 * to the revoke answering, an eviction fences the session, a heartbeat
 * acknowledgement extends the lease.
 */
export function routeServerMessage(d: ServerMessageRoutingDeps, m: ServerMessage): void {
  const requestId = Number(m.requestId ?? 0);
  if (!d.channel.received(Number(m.seq ?? 0), requestId)) return;
  const pending = d.channel.pending;
  const body = m.body;
  const payload = (body ? m[body] : {}) as Record<string, unknown>;
  switch (body) {
    case 'opened': return; // handled by the dialer
    case 'queued': pending.get(requestId)?.onQueued?.(); return;
    case 'revoke': void answerRevoke(d.revokeAnswering, revokeNoticeFromWire(payload)); return;
    case 'evicted': d.fence(String(payload.reason || 'SESSION_EVICTED')); return;
    case 'heartbeatAck': return onHeartbeatAck(d, requestId, Number(payload.ttlMs));
    case 'error': {
      // A leader in its recovery window, or one that just lost its leadership (its streams end next and the
      // client resumes at the new leader): ask again there, the application sees no error.
      if ((payload.reason === 'RECOVERING' || payload.reason === 'NOT_LEADER') && retryLater(d, requestId)) return;
      const p = pending.take(requestId);
      const conflict = payload.conflict ? grantFromWire(payload.conflict as Record<string, unknown>) : undefined;
      const err = errorFromReason(String(payload.reason), String(payload.message), { leaderAddress: payload.leaderAddress, ...(conflict ? { conflict } : {}) });
      if (p) p.reject(err);
      else d.logger.debug('error for no pending request', { requestId, reason: payload.reason });
      return;
    }
    case 'granted': case 'converted': case 'reclaimed': {
      const p = pending.take(requestId);
      if (p) return p.resolve(m as Record<string, unknown>);
      // The caller gave up (abort) before the grant arrived: a new lock goes back; an aborted conversion of a held one stays.
      const grant = grantFromWire(payload.lock as Record<string, unknown>);
      if (d.held.has(grant.lockId)) d.held.changed(grant);
      else if (grant.lockId) d.releaseLazily(grant.lockId);
      return;
    }
    default:
      pending.take(requestId)?.resolve(m as Record<string, unknown>);
  }
}

/** The leader is recovering or was deposed: ask again shortly, under a new request id (after a resume, at the new leader). */
function retryLater(d: ServerMessageRoutingDeps, requestId: number): boolean {
  const p = d.channel.pending.take(requestId);
  if (!p) return false;
  d.clock.setTimer(100, () => {
    const ended = d.endedReason();
    if (ended !== undefined) return p.reject(new SessionLostError('LEASE_DEADLINE_PASSED', `session lost: ${ended}`));
    d.channel.resendAsNew(p);
  });
  return true;
}

function onHeartbeatAck(d: ServerMessageRoutingDeps, requestId: number, ttlMs: number): void {
  const p = d.channel.pending.take(requestId);
  if (!p) return;
  d.leaseConfirmed(p.sentMs, ttlMs);
  p.resolve({});
}
