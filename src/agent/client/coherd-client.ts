import { EventEmitter } from 'node:events';
import { Clock, SystemClock, TimerHandle } from '../../common/clock';
import { Logger, silentLogger } from '../../common/logger';
import { WHOLE_FILE } from '../../common/byte-range';
import { CancelledError, SessionLostError, UnavailableError, errorFromReason } from '../../common/errors';
import { rangeToWire, spaceToWire } from '../../common/wire';
import { TlsFiles } from '../../coordinator/transport-security';
import { ServerMessage, SessionLink, SessionLinkFactory } from './session-connection';
import { PendingRequest, PendingRequests } from './pending-requests';
import { connectToSomeEndpoint } from './endpoint-dialer';
import { LeaseDeadline } from './lease-deadline';
import { grantFromWire } from './grant-wire';
import { HeldGrants } from './held-grants';
import { RevokeAnsweringDeps, answerRevoke, revokeNoticeFromWire } from './revoke-answering';
import { ReclaimDeps, reclaimAll } from './session-resume';
import { RidingReleases } from './riding-releases';
import { AcquireOptions, ClientGrant, ConvertOptions, LockListener, RevokeAnswer, RevokeNotice, TokenClient } from './types';

export interface CoherdClientOptions {
  /** Coordinator endpoints, HOST:PORT; the client follows the leader among them. */
  endpoints: string[];
  clientName?: string;
  /** Session lease TTL; default 10000 ms. */
  ttlMs?: number;
  clock?: Clock;
  logger?: Logger;
  tls?: TlsFiles;
  /** Subtracted from the lease deadline for clock drift; default max(100 ms, 2% of TTL). */
  driftMarginMs?: number;
  /** After losing the session, open a new one (agents); default false (CLI, tests). */
  renewSession?: boolean;
  /** Give up dialing after this long; default 5000 ms. */
  connectTimeoutMs?: number;
  /** Opens the stream to an endpoint; default a gRPC Connect call (tests and the protocol simulation pass their own). */
  openLink?: SessionLinkFactory;
}

/**
 * A session with the coordinator: one stream, heartbeats, acquire/release/
 * convert, revoke callbacks, reconnect with resume, and self-fencing at its
 * own lease deadline (DESIGN §5). Events: 'fenced' (reason), 'session' (id),
 * 'reconnected' (endpoint).
 */
export class CoherdClient extends EventEmitter implements TokenClient {
  sessionId = '';
  ttlMs: number;
  epoch = 0;
  private resumeSecret = '';
  private conn: SessionLink | undefined;
  private readonly pending = new PendingRequests();
  private readonly held = new HeldGrants();
  private lockListener: LockListener | undefined;
  private readonly releases = new RidingReleases();
  private nextRequestId = 1;
  private lastSeq = 0;
  /** The highest seq an outgoing message has acked. */
  private sentAckSeq = 0;
  private readonly lease: LeaseDeadline;
  private fencedReason: string | undefined;
  private closing = false;
  private heartbeatTimer: TimerHandle | undefined;
  private ackTimer: TimerHandle | undefined;
  private reconnecting: Promise<void> | undefined;
  private resumeAgain = false;
  /** Set while a resume waits for reclaim answers: the stream it waits on died. */
  private linkLost: (() => void) | undefined;
  private revokeHandler: (n: RevokeNotice) => Promise<RevokeAnswer> = async () => ({ released: true });
  private readonly clock: Clock;
  private readonly logger: Logger;

  private readonly revokeAnswering: RevokeAnsweringDeps;
  private readonly reclaimDeps: ReclaimDeps;

  private constructor(private readonly o: CoherdClientOptions) {
    super();
    this.clock = o.clock ?? new SystemClock();
    this.logger = (o.logger ?? silentLogger()).child({ component: 'client' });
    const request = (body: object) => this.request(body);
    const listener = () => this.lockListener;
    this.revokeAnswering = { held: this.held, handler: () => this.revokeHandler, listener, isFenced: () => this.isFenced(), request, logger: this.logger };
    this.reclaimDeps = { held: this.held, sessionId: () => this.sessionId, request, listener, logger: this.logger };
    this.ttlMs = o.ttlMs ?? 10_000;
    const driftMarginMs = o.driftMarginMs ?? Math.max(100, Math.round(this.ttlMs * 0.02));
    this.lease = new LeaseDeadline(this.clock, driftMarginMs, () => this.fence('LEASE_DEADLINE_PASSED'));
  }

  static async connect(o: CoherdClientOptions): Promise<CoherdClient> {
    const client = new CoherdClient(o);
    await client.openSession();
    return client;
  }

  get endpoint(): string {
    return this.conn?.endpoint ?? '';
  }

  leaseDeadlineMs(): number {
    return this.lease.ms;
  }

  isFenced(): boolean {
    if (this.fencedReason === undefined && this.lease.passed()) this.fence('LEASE_DEADLINE_PASSED');
    return this.fencedReason !== undefined;
  }

  heldGrants(): ClientGrant[] {
    return this.held.all();
  }

  setRevokeHandler(handler: (notice: RevokeNotice) => Promise<RevokeAnswer>): void {
    this.revokeHandler = handler;
  }

  setLockListener(listener: LockListener): void {
    this.lockListener = listener;
  }

  async acquire(a: AcquireOptions): Promise<ClientGrant> {
    const range = a.space === 'attr' || a.space === 'dir' ? WHOLE_FILE : a.range ?? WHOLE_FILE;
    const reply = await this.request(
      { acquire: { resource: a.resource, space: spaceToWire(a.space), mode: a.mode, range: rangeToWire(range), owner: a.owner ?? '', wait: a.wait ?? true, timeoutMs: a.timeoutMs ?? 0 } },
      a.signal,
      a.onQueued,
    );
    const grant = grantFromWire((reply.granted as { lock: Record<string, unknown> }).lock);
    this.held.granted(grant);
    return grant;
  }

  /**
   * The converted lock as granted. When the lock was given up while the
   * conversion was in flight, the grant is returned but not believed held
   * (the release follows it on the wire); callers compare versions.
   */
  async convert(lockId: number, c: ConvertOptions): Promise<ClientGrant> {
    const reply = await this.request(
      { convert: { lockId, mode: c.mode, range: rangeToWire(c.range), wait: c.wait ?? true, timeoutMs: c.timeoutMs ?? 0 } },
      c.signal,
    );
    const grant = grantFromWire(((reply.converted ?? reply.granted) as { lock: Record<string, unknown> }).lock);
    this.held.changed(grant);
    return grant;
  }

  async release(lockId: number): Promise<void> {
    this.held.forget(lockId);
    try {
      await this.request({ release: { lockId } });
    } catch (e) {
      // Already gone (released by a revoke answer, or lost in a failover it was not reclaimed across): released either way.
      if ((e as { reason?: string }).reason !== 'LOCK_NOT_FOUND') throw e;
    }
  }

  releaseLazily(lockId: number): void {
    this.held.forget(lockId);
    this.releases.add(lockId);
    this.scheduleAck();
  }

  /** Ends the session: the coordinator frees everything and revokes the lease. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.stopTimers();
    if (this.conn?.isOpen && !this.fencedReason) {
      await Promise.race([this.request({ close: {} }).catch(() => undefined), new Promise((r) => this.clock.setTimer(2000, () => r(undefined)))]);
    }
    this.conn?.close();
    this.pending.rejectAll(new SessionLostError('SESSION_EVICTED', 'client closed'));
  }

  private request(body: object, signal?: AbortSignal, onQueued?: () => void): Promise<Record<string, unknown>> {
    if (this.isFenced()) return Promise.reject(new SessionLostError('LEASE_DEADLINE_PASSED', `session lost: ${this.fencedReason}`));
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
      this.sendRaw(message);
    });
  }

  /** Takes ownership of `message`: acks and lazy releases ride on it in place (no copy per message). */
  private sendRaw(message: object): void {
    const full = message as { requestId: number; ackSeq: number; releaseLockIds: number[] };
    full.ackSeq = this.lastSeq;
    full.releaseLockIds = this.releases.take(full.requestId || this.nextRequestId);
    if (this.conn?.send(full)) this.sentAckSeq = full.ackSeq;
    else this.releases.notSent(full.releaseLockIds);
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
      if (this.lastSeq > this.sentAckSeq) this.sendRaw({ requestId: 0, ack: {} });
    });
  }

  private async openSession(): Promise<void> {
    const sentMs = this.clock.nowMs();
    const opened = await this.dial({ open: { clientName: this.o.clientName ?? 'coherd-client', ttlMs: this.ttlMs } });
    this.adoptSession(opened, sentMs);
    this.scheduleHeartbeat(0);
  }

  private adoptSession(opened: Record<string, unknown>, sentMs: number): void {
    this.sessionId = String(opened.sessionId);
    this.resumeSecret = String(opened.resumeSecret);
    this.ttlMs = Number(opened.ttlMs);
    this.epoch = Number(opened.epoch);
    this.fencedReason = undefined;
    this.lease.start(sentMs, this.ttlMs);
  }

  /** Connects to some endpoint and sends the first message; resolves with SessionOpened. */
  private async dial(first: object): Promise<Record<string, unknown>> {
    const { conn, opened } = await connectToSomeEndpoint({
      endpoints: this.o.endpoints,
      tls: this.o.tls,
      logger: this.logger,
      clock: this.clock,
      timeoutMs: this.o.connectTimeoutMs ?? 5000,
      openLink: this.o.openLink,
      firstMessage: (lastSeq) => ({ requestId: 0, ackSeq: lastSeq, ...first }),
      lastSeq: () => this.lastSeq,
      handlers: (getConn) => ({
        onMessage: (m) => this.onMessage(m),
        onClosed: (reason) => this.onConnectionClosed(getConn(), reason),
      }),
    });
    this.conn = conn;
    return opened;
  }

  private onMessage(m: ServerMessage): void {
    const seq = Number(m.seq ?? 0);
    if (seq > 0) {
      if (seq <= this.lastSeq) return;
      this.lastSeq = seq;
      this.scheduleAck();
    }
    const requestId = Number(m.requestId ?? 0);
    if (requestId > 0) this.releases.answered(requestId);
    const body = m.body;
    const payload = (body ? m[body] : {}) as Record<string, unknown>;
    switch (body) {
      case 'opened': return; // handled by the dialer
      case 'queued': this.pending.get(requestId)?.onQueued?.(); return;
      case 'revoke': void answerRevoke(this.revokeAnswering, revokeNoticeFromWire(payload)); return;
      case 'evicted': this.fence(String(payload.reason || 'SESSION_EVICTED')); return;
      case 'heartbeatAck': return this.onHeartbeatAck(requestId, Number(payload.ttlMs));
      case 'error': {
        if (payload.reason === 'RECOVERING' && this.retryLater(requestId)) return;
        const p = this.pending.take(requestId);
        const err = errorFromReason(String(payload.reason), String(payload.message), { leaderAddress: payload.leaderAddress });
        if (p) p.reject(err);
        else this.logger.debug('error for no pending request', { requestId, reason: payload.reason });
        return;
      }
      case 'granted': case 'converted': case 'reclaimed': {
        const p = this.pending.take(requestId);
        if (p) return p.resolve(m as Record<string, unknown>);
        // The caller gave up (abort) before the grant arrived: a new lock goes back; an aborted conversion of a held one stays.
        const grant = grantFromWire(payload.lock as Record<string, unknown>);
        if (this.held.has(grant.lockId)) this.held.changed(grant);
        else if (grant.lockId) this.releaseLazily(grant.lockId);
        return;
      }
      default:
        this.pending.take(requestId)?.resolve(m as Record<string, unknown>);
    }
  }

  /** The leader is still in its recovery window: ask again shortly, under a new request id. */
  private retryLater(requestId: number): boolean {
    const p = this.pending.take(requestId);
    if (!p) return false;
    this.clock.setTimer(100, () => {
      if (this.fencedReason || this.closing) return p.reject(new SessionLostError('LEASE_DEADLINE_PASSED', `session lost: ${this.fencedReason ?? 'closed'}`));
      this.resendAsNew(p);
    });
    return true;
  }

  private resendAsNew(p: PendingRequest): void {
    this.pending.take(p.requestId);
    const retryId = this.nextRequestId++;
    const message = { ...(p.message as Record<string, unknown>), requestId: retryId };
    this.pending.add({ ...p, requestId: retryId, message, sentMs: this.clock.nowMs(), epoch: this.epoch });
    this.sendRaw(message);
  }

  private scheduleHeartbeat(delayMs: number): void {
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = this.clock.setTimer(delayMs, () => {
      if (this.closing || this.fencedReason) return;
      this.request({ heartbeat: {} }).catch((e) => this.logger.debug('heartbeat failed', { error: (e as Error).message }));
      this.scheduleHeartbeat(Math.max(200, this.ttlMs / 4));
    });
  }

  private onHeartbeatAck(requestId: number, ttlMs: number): void {
    const p = this.pending.take(requestId);
    if (!p) return;
    this.lease.confirmed(p.sentMs, ttlMs);
    p.resolve({});
  }

  private fence(reason: string): void {
    if (this.fencedReason !== undefined) return;
    this.fencedReason = reason;
    this.held.clear();
    this.releases.clear();
    this.heartbeatTimer?.cancel();
    this.logger.warn('session fenced', { session: this.sessionId, reason });
    this.pending.rejectAll(new SessionLostError(reason === 'SESSION_EVICTED' ? 'SESSION_EVICTED' : 'LEASE_DEADLINE_PASSED', `session lost: ${reason}`));
    this.emit('fenced', reason);
    if (this.o.renewSession && !this.closing) void this.renew();
  }

  private async renew(): Promise<void> {
    this.conn?.close();
    for (let attempt = 0; !this.closing; attempt++) {
      try {
        this.lastSeq = 0;
        this.sentAckSeq = 0;
        await this.openSession();
        this.logger.info('new session after fencing', { session: this.sessionId });
        this.emit('session', this.sessionId);
        return;
      } catch (e) {
        this.logger.warn('cannot open a new session yet', { error: (e as Error).message });
        await new Promise((r) => this.clock.setTimer(Math.min(2000, 200 * 2 ** attempt), () => r(undefined)));
      }
    }
  }

  private onConnectionClosed(conn: SessionLink, reason: string): void {
    if (conn !== this.conn || this.closing || this.fencedReason) return;
    this.logger.warn('session stream lost; resuming', { session: this.sessionId, reason });
    // A resume under way may be waiting for answers on the stream that just died: interrupt it.
    this.linkLost?.();
    this.resumeAgain = true;
    this.reconnecting ??= this.resumeUntilStable().finally(() => { this.reconnecting = undefined; });
  }

  /** Resumes, and again if the new stream died before the resume was over. */
  private async resumeUntilStable(): Promise<void> {
    while (this.resumeAgain && !this.closing && !this.fencedReason) {
      this.resumeAgain = false;
      await this.resume();
    }
  }

  private async resume(): Promise<void> {
    while (!this.closing && !this.isFenced()) {
      try {
        const opened = await this.dial({ resume: { sessionId: this.sessionId, resumeSecret: this.resumeSecret } });
        const epoch = Number(opened.epoch);
        const { asIs, asNew } = this.pending.toResend(epoch, Number(opened.lastRequestId));
        this.epoch = epoch;
        if (opened.reclaimRequired === true) {
          this.releases.clear();
          const lost = new Promise<never>((_, reject) => {
            this.linkLost = () => reject(new UnavailableError('COORDINATOR_UNAVAILABLE', 'session stream lost while reclaiming'));
          });
          lost.catch(() => undefined);
          try {
            await reclaimAll(this.reclaimDeps, lost);
          } catch (e) {
            // Those answers will never come: forget the requests, reclaim again on the next stream.
            this.pending.dropWhere((p) => 'reclaim' in p.message || 'reclaimComplete' in p.message);
            throw e;
          } finally {
            this.linkLost = undefined;
          }
          // The new leader numbers from our reclaims on: resend under fresh ids so nothing looks like a duplicate.
          for (const p of [...asIs, ...asNew]) this.resendAsNew(p);
        } else {
          this.releases.resumedWithSameLeader();
          for (const p of asIs) this.sendRaw(p.message);
          for (const p of asNew) this.resendAsNew(p);
          if (this.releases.size > 0) this.sendRaw({ requestId: 0, ack: {} });
        }
        this.emit('reconnected', this.endpoint);
        return;
      } catch (e) {
        const reason = (e as { reason?: string }).reason;
        if (reason === 'SESSION_NOT_FOUND' || reason === 'SESSION_NOT_OWNED') return this.fence('SESSION_EXPIRED');
        await new Promise((r) => this.clock.setTimer(200, () => r(undefined)));
      }
    }
  }

  private stopTimers(): void {
    this.heartbeatTimer?.cancel();
    this.lease.stop();
    this.ackTimer?.cancel();
  }
}
