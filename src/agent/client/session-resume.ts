import { isCoherdError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { grantFromWire, grantToWire } from './grant-wire';
import type { Clock } from '../../common/clock';
import { NotFoundError, UnavailableError } from '../../common/errors';
import type { HeldGrants } from './held-grants';
import type { RequestChannel } from './request-channel';
import type { LockListener } from './types';

export interface ReclaimDeps {
  held: HeldGrants;
  sessionId(): string;
  request(body: object): Promise<Record<string, unknown>>;
  listener(): LockListener | undefined;
  logger: Logger;
}

/**
 * A new leader asks the client to re-declare what it holds (DESIGN §6):
 * exactly the belief in `held`, which never exceeds what the old leader
 * granted. A refused reclaim means the lock is gone: the holder stops using
 * it and the dirty data under it becomes an error (listener.lost), and it is
 * logged as an error (it means a bug somewhere). Then ReclaimComplete.
 */
export async function reclaimAll(d: ReclaimDeps, streamLost: Promise<never>): Promise<void> {
  const grants = d.held.all();
  const outcomes = await Promise.race([
    Promise.all(grants.map((g) => d.request({ reclaim: { lock: grantToWire(g, d.sessionId()) } }).then(
      (reply) => ({ g, reply, error: undefined }),
      (error: unknown) => ({ g, reply: undefined, error }),
    ))),
    streamLost,
  ]);
  for (const { g, reply, error } of outcomes) {
    if (reply) {
      d.held.changed(grantFromWire((reply.reclaimed as { lock: Record<string, unknown> }).lock));
      continue;
    }
    // Stream trouble is not a refusal: the whole reclaim starts over on the next stream.
    if (isCoherdError(error) && error.retryable) throw error;
    if (!d.held.forget(g.lockId)) continue;
    d.logger.error('reclaim refused; the grant is lost', { lockId: g.lockId, resource: g.resource, error: (error as Error).message });
    d.listener()?.lost(g.lockId, `reclaim refused: ${(error as Error).message}`);
  }
  await Promise.race([d.request({ reclaimComplete: {} }), streamLost]);
  d.logger.info('reclaimed grants at the new leader', { session: d.sessionId(), grants: grants.length });
}

export interface ResumeDeps {
  channel: RequestChannel;
  clock: Clock;
  /** Connects and sends the first message; resolves with SessionOpened. */
  dial(first: object): Promise<Record<string, unknown>>;
  session(): { sessionId: string; resumeSecret: string };
  /** False once the client closes or its session is lost: stop trying. */
  active(): boolean;
  /** Registers what interrupts a reclaim when the new stream dies (undefined: nothing to interrupt). */
  onLinkLost(fn: (() => void) | undefined): void;
  reclaim: ReclaimDeps;
  /** The lease: heartbeat acknowledgements must not extend it while grants are being reclaimed (LeaseDeadline.reclaiming). */
  lease: { reclaiming(): void; reclaimed(): void };
}

/**
 * Resumes the session on a new stream (DESIGN §4, §6), retrying until it
 * works or the session is gone. At a new leader (reclaimRequired) the
 * client reclaims what it believes it holds, then sends every pending
 * request under a fresh id (the new leader saw none of them, whatever their
 * old ids), except releases and revoke answers, which name the earlier
 * leader's lock ids; early releases are dropped too (the new leader never
 * had those locks). At the same leader, what it did not process goes again as it
 * was, and releases not known to be processed ride again.
 */
export async function resumeSession(d: ResumeDeps): Promise<'resumed' | 'expired' | 'stopped'> {
  const { channel } = d;
  while (d.active()) {
    try {
      const opened = await d.dial({ resume: d.session() });
      const epoch = Number(opened.epoch);
      const { asIs, asNew } = channel.pending.toResend(epoch, Number(opened.lastRequestId));
      channel.epoch = epoch;
      if (opened.reclaimRequired === true) {
        // Before anything is awaited: no acknowledgement from this leader may count until it took the grants.
        d.lease.reclaiming();
        channel.releases.clear();
        // Releases and revoke answers name the earlier leader's lock ids, which the new leader may hand out
        // anew (to this very session): sent again, they would give up a new lock. What they gave up is not
        // reclaimed and what they kept is, so they are done: answered as LOCK_NOT_FOUND, "gone either way".
        const stale = channel.pending.takeWhere((p) => p.epoch !== epoch && ('release' in p.message || 'revokeAck' in p.message));
        for (const p of stale) p.reject(new NotFoundError('LOCK_NOT_FOUND', 'the lock belonged to an earlier leader; not sent again', {}));
        await reclaimOnThisStream(d);
        d.lease.reclaimed();
        for (const p of [...asIs, ...asNew]) if (!stale.includes(p)) channel.resendAsNew(p);
      } else {
        channel.releases.resumedWithSameLeader();
        for (const p of asIs) channel.sendRaw(p.message);
        for (const p of asNew) channel.resendAsNew(p);
        if (channel.releases.size > 0) channel.sendRaw({ requestId: 0, ack: {} });
      }
      return 'resumed';
    } catch (e) {
      const reason = (e as { reason?: string }).reason;
      if (reason === 'SESSION_NOT_FOUND' || reason === 'SESSION_NOT_OWNED') return 'expired';
      await new Promise((r) => d.clock.setTimer(200, () => r(undefined)));
    }
  }
  return 'stopped';
}

/** Reclaims, unless the stream dies first: then its reclaim requests are forgotten (their answers never come) and it throws. */
async function reclaimOnThisStream(d: ResumeDeps): Promise<void> {
  const lost = new Promise<never>((_, reject) => {
    d.onLinkLost(() => reject(new UnavailableError('COORDINATOR_UNAVAILABLE', 'session stream lost while reclaiming')));
  });
  lost.catch(() => undefined);
  try {
    await reclaimAll(d.reclaim, lost);
  } catch (e) {
    d.channel.pending.dropWhere((p) => 'reclaim' in p.message || 'reclaimComplete' in p.message);
    throw e;
  } finally {
    d.onLinkLost(undefined);
  }
}
