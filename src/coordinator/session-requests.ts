import { InvalidArgumentError, ResourceExhaustedError, SessionLostError, isCoherdError } from '../common/errors';
import { withinRequestRate } from './quotas';
import type { Session } from './session';
import type { SessionStreamContext } from './session-stream';
import { cancelledError, errorBody } from './stream-replies';

/**
 * A message on a stream that carries a session: piggybacked acks and
 * releases first, then the request it holds, or the acquires of an
 * AcquireBatch one after another, each under its own id (DESIGN §4). Duplicates from a
 * resumed stream are dropped (their replies are in the outbox), a closing
 * session refuses everything, acquire and convert take from the rate
 * quota; every request gets exactly one reply, an Error one when it throws.
 */
export function handleSessionMessage(ctx: SessionStreamContext, session: Session, m: Record<string, unknown>): void {
  const requestId = Number(m.requestId ?? 0);
  const body = m.body as string | undefined;
  if (typeof m.ackSeq === 'number' && m.ackSeq > 0) session.outbox.ack(m.ackSeq);
  if (Array.isArray(m.releaseLockIds) && m.releaseLockIds.length) ctx.requests.releaseQuietly(session, m.releaseLockIds);
  if (body === undefined || body === 'ack') return;
  if (requestId <= session.lastRequestId) return; // duplicate from a resumed stream; its reply is in the outbox
  const msg = (m[body] ?? {}) as Record<string, unknown>;
  if (body !== 'acquireBatch') {
    session.lastRequestId = requestId;
    return handleRequest(ctx, session, requestId, body, msg);
  }
  const batch = Array.isArray(msg.requests) ? (msg.requests as Record<string, unknown>[]) : [];
  session.lastRequestId = requestId + Math.max(batch.length, 1) - 1; // the batch is handled whole: all its ids are used
  if (batch.length === 0 || batch.length > MAX_ACQUIRE_BATCH) {
    const e = new InvalidArgumentError('PROTOCOL_VIOLATION', `an acquire batch holds 1 to ${MAX_ACQUIRE_BATCH} acquires`, { count: batch.length });
    return replyOn(ctx, session, requestId, { error: errorBody(e, ctx.clock?.nowMs()) });
  }
  for (let i = 0; i < batch.length; i++) handleRequest(ctx, session, requestId + i, 'acquire', batch[i] ?? {});
}

/** Most acquires one AcquireBatch may carry (session.proto). */
export const MAX_ACQUIRE_BATCH = 16;

/** One request (an acquire of a batch is one): exactly one reply, an Error one when it throws. */
function handleRequest(ctx: SessionStreamContext, session: Session, requestId: number, body: string, msg: Record<string, unknown>): void {
  try {
    if (session.closing) throw new SessionLostError('SESSION_CLOSING', 'the session was closed by its client; open a new one', { session: session.id });
    if ((body === 'acquire' || body === 'convert') && !withinRequestRate(session, ctx.rate, ctx.clock)) {
      throw new ResourceExhaustedError('RATE_LIMITED', 'this session sends requests faster than its quota; retry later', { session: session.id, perSecond: ctx.rate?.requestsPerSecond }, { retryable: true });
    }
    dispatch(ctx, session, requestId, body, msg);
  } catch (e) {
    replyOn(ctx, session, requestId, { error: errorBody(e, ctx.clock?.nowMs()) });
    if (!isCoherdError(e)) ctx.logger.error('request failed unexpectedly', { session: session.id, error: (e as Error).stack });
  }
}

function dispatch(ctx: SessionStreamContext, session: Session, requestId: number, body: string, msg: Record<string, unknown>): void {
  const r = ctx.requests;
  switch (body) {
    case 'heartbeat':
      ctx.registry.heartbeat(session).then(
        (ttlMs) => replyOn(ctx, session, requestId, { heartbeatAck: { ttlMs } }),
        (e) => { if (!session.ended) replyOn(ctx, session, requestId, { error: errorBody(e) }); },
      );
      return;
    case 'acquire': return replyOn(ctx, session, requestId, r.acquire(session, requestId, msg));
    case 'release': return replyOn(ctx, session, requestId, r.release(session, msg.lockId));
    case 'convert': return replyOn(ctx, session, requestId, r.convert(session, requestId, msg));
    case 'revokeAck': return replyOn(ctx, session, requestId, r.revokeAck(session, msg));
    case 'reclaim': return replyOn(ctx, session, requestId, r.reclaim(session, msg));
    case 'reclaimComplete':
      session.restored = false;
      ctx.recovery()?.done(session.id);
      return replyOn(ctx, session, requestId, { reclaimCompleted: {} });
    case 'cancel': {
      const cancelled = r.cancel(session, msg);
      if (cancelled) replyOn(ctx, session, Number(msg.targetRequestId), { error: errorBody(cancelledError()) });
      return replyOn(ctx, session, requestId, { cancelled: {} });
    }
    case 'close':
      // Answer first: once the session has ended nothing more is sent on it. Nothing is granted after close.
      session.closing = true;
      replyOn(ctx, session, requestId, { closed: {} });
      void ctx.closeSession(session);
      return;
    case 'open': case 'resume':
      throw new InvalidArgumentError('PROTOCOL_VIOLATION', 'this stream already carries a session');
    default:
      throw new InvalidArgumentError('PROTOCOL_VIOLATION', `unknown message body ${JSON.stringify(body)}`);
  }
}

/** Queues a reply in the session's outbox (sent now or on resume); a client that never acks is evicted. */
export function replyOn(ctx: SessionStreamContext, session: Session, requestId: number, message: object, opening = false): void {
  if (session.ended) return;
  try {
    (message as { requestId: number }).requestId = requestId;
    if (opening) session.outbox.pushOpening(message);
    else session.outbox.push(message);
  } catch (e) {
    ctx.logger.warn('session outbox full; evicting', { session: session.id });
    void ctx.registry.evict(session.id).catch(() => undefined);
  }
}
