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
export async function reclaimAll(d: ReclaimDeps): Promise<void> {
  const grants = d.held.all();
  const outcomes = await Promise.all(grants.map((g) => d.request({ reclaim: { lock: grantToWire(g, d.sessionId()) } }).then(
    (reply) => ({ g, reply, error: undefined }),
    (error: unknown) => ({ g, reply: undefined, error }),
  )));
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
  await d.request({ reclaimComplete: {} });
  d.logger.info('reclaimed grants at the new leader', { session: d.sessionId(), grants: grants.length });
}

export interface ResumeDeps {
  channel: RequestChannel;
  clock: Clock;
  /** Connects and sends the first message; resolves with SessionOpened. A stream opened once `stillWanted()` is false is closed, never used, and the dial rejects. */
  dial(first: object, stillWanted: () => boolean): Promise<Record<string, unknown>>;
  session(): { sessionId: string; resumeSecret: string };
  /** False once the client closes or its session is lost: stop trying. */
  active(): boolean;
  /** Registers what interrupts a reclaim when the new stream dies (undefined: nothing to interrupt). */
  onLinkLost(fn: (() => void) | undefined): void;
  reclaim: ReclaimDeps;
  /** The lease: heartbeat acknowledgements must not extend it while grants are being reclaimed (LeaseDeadline.reclaiming). */
  lease: { reclaiming(): void; reclaimed(): void };
  /** A reclaim whose stream died before its answers came (set and cleared here; starts undefined). */
  unfinishedReclaim?: { sessionId: string; done: Promise<void> };
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
  // Bound to the session it resumes: once that one is fenced and a new one opened, resuming "the session"
  // again would take the new session's stream away from it (SESSION_RESUMED_ELSEWHERE) mid-flight.
  const resuming = d.session().sessionId;
  const current = () => d.active() && d.session().sessionId === resuming;
  while (current()) {
    try {
      const opened = await d.dial({ resume: d.session() }, current);
      const epoch = Number(opened.epoch);
      if (opened.reclaimRequired === true) {
        // A reclaim cut off earlier starts over: its requests are forgotten (any answer to them is ignored).
        d.unfinishedReclaim = undefined;
        channel.pending.dropWhere((p) => 'reclaim' in p.message || 'reclaimComplete' in p.message);
      }
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
        // This leader finished the session's reclaim (it awaits it no more), but the stream died before the
        // answers came: they come now, from its outbox. Until they are in, which grants it refused is unknown,
        // so its acknowledgements still do not count; never applying them at all would let the lease lapse.
        const unfinished = d.unfinishedReclaim;
        if (unfinished?.sessionId === resuming) {
          await untilLinkLost(d, unfinished.done);
          d.unfinishedReclaim = undefined;
          d.lease.reclaimed();
        }
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

/**
 * Reclaims on this stream. When the stream dies first, the reclaim's
 * requests stay pending: at the same leader their answers come from its
 * outbox once it resumes (resumeSession waits for them there); at a new
 * leader they are dropped and a new reclaim starts.
 */
async function reclaimOnThisStream(d: ResumeDeps): Promise<void> {
  const done = reclaimAll(d.reclaim);
  // A reclaim that failed (not cut off) is not waited for again: its outcome is unknown, the lease stays held back.
  done.catch(() => { if (d.unfinishedReclaim?.done === done) d.unfinishedReclaim = undefined; });
  d.unfinishedReclaim = { sessionId: d.session().sessionId, done };
  await untilLinkLost(d, done);
  d.unfinishedReclaim = undefined;
}

/** Waits for `work`, or throws once the stream it runs on dies. */
async function untilLinkLost(d: ResumeDeps, work: Promise<void>): Promise<void> {
  const lost = new Promise<never>((_, reject) => {
    d.onLinkLost(() => reject(new UnavailableError('COORDINATOR_UNAVAILABLE', 'session stream lost while reclaiming')));
  });
  lost.catch(() => undefined);
  try {
    await Promise.race([work, lost]);
  } finally {
    d.onLinkLost(undefined);
  }
}
