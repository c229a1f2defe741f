import type { Clock, TimerHandle } from '../../common/clock';
import { CancelledError } from '../../common/errors';
import { PendingRequest, PendingRequests } from './pending-requests';
import { RidingReleases } from './riding-releases';
import type { SessionLink } from './session-connection';

/** Most acquires in one AcquireBatch (the coordinator's MAX_ACQUIRE_BATCH, session.proto). */
const MAX_ACQUIRE_BATCH = 16;

/**
 * The requests of one session and what rides on them (DESIGN §4): request
 * ids, the ack of the server's sequence, early releases. Requests outlive
 * a stream: after a resume they are sent again (as they are to the same
 * leader, under fresh ids to a new one).
 */
export class RequestChannel {
  readonly pending = new PendingRequests();
  readonly releases = new RidingReleases();
  link: SessionLink | undefined;
  /** The epoch of the leader the link goes to. */
  epoch = 0;
  /** The highest server seq processed. */
  lastSeq = 0;
  private sentAckSeq = 0;
  private nextRequestId = 1;
  private ackTimer: TimerHandle | undefined;
  /** The coordinator takes AcquireBatch (its SessionOpened said so). */
  batchAcquires = false;
  /** Acquires sent this turn, not yet on the wire: they leave together, before any other message. */
  private queued: Array<{ requestId: number; acquire: object }> = [];

  constructor(private readonly clock: Clock) {}

  send(body: object, signal?: AbortSignal, onQueued?: () => void): Promise<Record<string, unknown>> {
    if (signal?.aborted) return Promise.reject(new CancelledError('CANCELLED', 'aborted before sending'));
    const requestId = this.nextRequestId++;
    const message = { requestId, ...body };
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        if (!this.pending.take(requestId)) return;
        this.sendRaw({ requestId: this.nextRequestId++, cancel: { targetRequestId: requestId } });
        reject(new CancelledError('CANCELLED', 'aborted by the caller'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.add({
        requestId, message, sentMs: this.clock.nowMs(), epoch: this.epoch, onQueued,
        resolve: (r) => { signal?.removeEventListener('abort', onAbort); resolve(r); },
        reject: (e) => { signal?.removeEventListener('abort', onAbort); reject(e); },
      });
      if (this.batchAcquires && 'acquire' in body) this.queue(message as { requestId: number; acquire: object });
      else this.sendRaw(message);
    });
  }

  /**
   * Acquires asked for in the same turn (a vop's missing tokens, a new
   * file's two) leave as one AcquireBatch at the end of the turn, or as
   * they are when alone. Anything else sent meanwhile sends them first, so
   * request ids reach the coordinator in order. One that is no longer
   * pending under its id by then (cancelled, or sent again under a fresh
   * id) is left out.
   */
  private queue(message: { requestId: number; acquire: object }): void {
    this.queued.push(message);
    if (this.queued.length === 1) queueMicrotask(() => this.flushAcquires());
  }

  private flushAcquires(): void {
    if (this.queued.length === 0) return;
    const all = this.queued.filter((m) => this.pending.get(m.requestId)?.message === m);
    this.queued = [];
    for (let i = 0; i < all.length; i += MAX_ACQUIRE_BATCH) {
      const part = all.slice(i, i + MAX_ACQUIRE_BATCH);
      // Ids of a batch must be consecutive: a gap (one left out) splits it.
      let start = 0;
      for (let j = 1; j <= part.length; j++) {
        if (j < part.length && part[j].requestId === part[j - 1].requestId + 1) continue;
        const run = part.slice(start, j);
        this.write(run.length === 1 ? run[0] : { requestId: run[0].requestId, acquireBatch: { requests: run.map((m) => m.acquire) } });
        start = j;
      }
    }
  }

  /**
   * Takes ownership of `message`: acks and lazy releases ride on it in place
   * (no copy per message). Acquires waiting in this turn go first, unless
   * the message is an older request sent again as it was (a resume): the
   * coordinator takes every id at or below the highest it has seen for a
   * duplicate.
   */
  sendRaw(message: object): void {
    const id = (message as { requestId?: number }).requestId ?? 0;
    if (this.queued.length > 0 && !(id > 0 && id < this.queued[0].requestId)) this.flushAcquires();
    this.write(message);
  }

  private write(message: object): void {
    const full = message as { requestId: number; ackSeq: number; releaseLockIds: number[] };
    full.ackSeq = this.lastSeq;
    full.releaseLockIds = this.releases.take(full.requestId || this.nextRequestId);
    if (this.link?.send(full)) this.sentAckSeq = full.ackSeq;
    else this.releases.notSent(full.releaseLockIds);
  }

  /** Sends a pending request again under a fresh id (a new leader, or after RECOVERING). */
  resendAsNew(p: PendingRequest): void {
    this.pending.take(p.requestId);
    const retryId = this.nextRequestId++;
    const message = { ...(p.message as Record<string, unknown>), requestId: retryId };
    this.pending.add({ ...p, requestId: retryId, message, sentMs: this.clock.nowMs(), epoch: this.epoch });
    this.sendRaw(message);
  }

  /** A server message arrived: false when it is a replay already processed. */
  received(seq: number, requestId: number): boolean {
    if (seq > 0) {
      if (seq <= this.lastSeq) return false;
      this.lastSeq = seq;
      this.scheduleAck();
    }
    if (requestId > 0) this.releases.answered(requestId);
    return true;
  }

  /** A new session numbers the server's messages from 1 again. */
  restartSequence(): void {
    this.lastSeq = 0;
    this.sentAckSeq = 0;
  }

  /** Gives a lock back on the next outgoing message (or a bare ack within 20 ms). */
  releaseLazily(lockId: number): void {
    this.releases.add(lockId);
    this.scheduleAck();
  }

  stop(): void {
    this.ackTimer?.cancel();
    this.ackTimer = undefined;
  }

  /**
   * Acks ride on requests; one timer per 20 ms sends a bare ack only if no
   * request carried the latest seq meanwhile (arming and cancelling a timer
   * per message cost ~3 % of CPU under load).
   */
  private scheduleAck(): void {
    if (this.ackTimer) return;
    this.ackTimer = this.clock.setTimer(20, () => {
      this.ackTimer = undefined;
      if (this.lastSeq > this.sentAckSeq || this.releases.waitingCount > 0) this.sendRaw({ requestId: 0, ack: {} });
    });
  }
}
