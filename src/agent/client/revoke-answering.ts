import type { Logger } from '../../common/logger';
import { isCoherdError } from '../../common/errors';
import { modeFromWire, rangeToWire } from '../../common/wire';
import { grantFromWire } from './grant-wire';
import type { HeldGrants } from './held-grants';
import type { LockListener, RevokeAnswer, RevokeNotice } from './types';

/** What answering a revoke needs from the client. */
export interface RevokeAnsweringDeps {
  held: HeldGrants;
  handler(): (notice: RevokeNotice) => Promise<RevokeAnswer>;
  listener(): LockListener | undefined;
  isFenced(): boolean;
  request(body: object): Promise<Record<string, unknown>>;
  logger: Logger;
}

export function revokeNoticeFromWire(payload: Record<string, unknown>): RevokeNotice {
  const range = (payload.range ?? {}) as { start?: unknown; end?: unknown };
  return {
    lockId: Number(payload.lockId),
    range: { start: Number(range.start ?? 0), end: Number(range.end ?? 0) },
    wantedMode: modeFromWire(payload.wantedMode),
    attempt: Number(payload.attempt ?? 1),
    deadlineMs: Number(payload.deadlineMs ?? 0),
    version: Number(payload.version ?? 0),
  };
}

/**
 * Runs the revoke handler (flush, drop caches, give rights back) and sends
 * its answer. The belief in `held` shrinks before the answer leaves, so the
 * client never believes more than the coordinator grants. An answer
 * planned against an older version of the lock than the client knows by now
 * is not applied here; the coordinator refuses it as STALE_VERSION and asks
 * again, and the handler then plans against what is held at that moment.
 */
export async function answerRevoke(d: RevokeAnsweringDeps, notice: RevokeNotice): Promise<void> {
  const { lockId } = notice;
  if (!d.held.has(lockId)) return; // already released (lazily or by an earlier answer)
  let answer: RevokeAnswer;
  try {
    answer = await d.handler()(notice);
  } catch (e) {
    d.logger.error('revoke handler failed; releasing the token', { lockId, error: (e as Error).message });
    answer = { released: true };
  }
  if (!d.held.has(lockId) || d.isFenced()) return;
  if (answer.released) {
    d.held.forget(lockId);
    d.request({ revokeAck: { lockId, released: true } }).catch((e) => {
      if (!isCoherdError(e) || e.reason !== 'LOCK_NOT_FOUND') d.logger.warn('revoke release refused', { lockId, error: (e as Error).message });
    });
    return;
  }
  d.held.reduce(lockId, answer.version, answer.mode, answer.range);
  const ack = { lockId, released: false, mode: answer.mode, range: rangeToWire(answer.range), version: answer.version };
  d.request({ revokeAck: ack }).then(
    (reply) => {
      const grant = grantFromWire((reply.converted as { lock: Record<string, unknown> }).lock);
      if (d.held.changed(grant)) d.listener()?.reduced(grant);
    },
    (e) => {
      if (isCoherdError(e) && e.reason === 'STALE_VERSION') d.logger.debug('revoke answer was stale; the coordinator asks again', { lockId, version: answer.version });
      else if (isCoherdError(e) && e.reason === 'LOCK_NOT_FOUND') d.logger.debug('revoke answer for a lock already gone', { lockId });
      else d.logger.warn('revoke answer refused', { lockId, error: (e as Error).message });
    },
  );
}
