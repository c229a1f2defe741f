import { EventEmitter } from 'node:events';
import { Clock, SystemClock, TimerHandle } from '../../common/clock';
import { Logger, silentLogger } from '../../common/logger';
import { WHOLE_FILE } from '../../common/byte-range';
import { SessionLostError } from '../../common/errors';
import { rangeToWire, spaceToWire } from '../../common/wire';
import { TlsFiles } from '../../coordinator/transport-security';
import { SessionLinkFactory } from './session-connection';
import { LeaseDeadline } from './lease-deadline';
import { grantFromWire } from './grant-wire';
import { HeldGrants } from './held-grants';
import { RequestChannel } from './request-channel';
import { ServerMessageRoutingDeps, routeServerMessage } from './server-message-routing';
import { StreamKeeper } from './stream-keeper';
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
  private resumeSecret = '';
  private readonly channel: RequestChannel;
  private readonly held = new HeldGrants();
  private lockListener: LockListener | undefined;
  private readonly lease: LeaseDeadline;
  private fencedReason: string | undefined;
  private closing = false;
  private heartbeatTimer: TimerHandle | undefined;
  private revokeHandler: (n: RevokeNotice) => Promise<RevokeAnswer> = async () => ({ released: true });
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly stream: StreamKeeper;

  private constructor(private readonly o: CoherdClientOptions) {
    super();
    this.clock = o.clock ?? new SystemClock();
    this.logger = (o.logger ?? silentLogger()).child({ component: 'client' });
    this.channel = new RequestChannel(this.clock);
    const request = (body: object) => this.request(body);
    const listener = () => this.lockListener;
    const routing: ServerMessageRoutingDeps = {
      channel: this.channel,
      clock: this.clock,
      held: this.held,
      revokeAnswering: { held: this.held, handler: () => this.revokeHandler, listener, isFenced: () => this.isFenced(), request, logger: this.logger },
      endedReason: () => (this.fencedReason || this.closing ? this.fencedReason ?? 'closed' : undefined),
      fence: (reason) => this.fence(reason),
      releaseLazily: (lockId) => this.releaseLazily(lockId),
      leaseConfirmed: (sentMs, ttlMs) => this.lease.confirmed(sentMs, ttlMs),
      logger: this.logger,
    };
    this.stream = new StreamKeeper({
      endpoints: o.endpoints,
      tls: o.tls,
      connectTimeoutMs: o.connectTimeoutMs ?? 5000,
      openLink: o.openLink,
      channel: this.channel,
      clock: this.clock,
      logger: this.logger,
      session: () => ({ sessionId: this.sessionId, resumeSecret: this.resumeSecret }),
      active: () => !this.closing && !this.isFenced(),
      ended: () => Boolean(this.closing || this.fencedReason),
      onMessage: (m) => routeServerMessage(routing, m),
      reclaim: { held: this.held, sessionId: () => this.sessionId, request, listener, logger: this.logger },
      lease: { reclaiming: () => this.lease.reclaiming(), reclaimed: () => this.lease.reclaimed() },
      resumed: () => this.emit('reconnected', this.endpoint),
      expired: () => this.fence('SESSION_EXPIRED'),
    });
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
    return this.channel.link?.endpoint ?? '';
  }

  /** The epoch of the leader this client talks to. */
  get epoch(): number {
    return this.channel.epoch;
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
      { acquire: { resource: a.resource, space: spaceToWire(a.space), mode: a.mode, range: rangeToWire(range), owner: a.owner ?? '', wait: a.wait ?? true, timeoutMs: a.timeoutMs ?? 0, noDirect: a.noDirect === true } },
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
    this.channel.releaseLazily(lockId);
  }

  /** Ends the session: the coordinator frees everything and revokes the lease. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.stopTimers();
    if (this.channel.link?.isOpen && !this.fencedReason) {
      await Promise.race([this.request({ close: {} }).catch(() => undefined), new Promise((r) => this.clock.setTimer(2000, () => r(undefined)))]);
    }
    this.channel.link?.close();
    this.channel.pending.rejectAll(new SessionLostError('SESSION_EVICTED', 'client closed'));
  }

  private request(body: object, signal?: AbortSignal, onQueued?: () => void): Promise<Record<string, unknown>> {
    if (this.isFenced()) return Promise.reject(new SessionLostError('LEASE_DEADLINE_PASSED', `session lost: ${this.fencedReason}`));
    return this.channel.send(body, signal, onQueued);
  }

  private async openSession(): Promise<void> {
    const sentMs = this.clock.nowMs();
    const opened = await this.stream.dial({ open: { clientName: this.o.clientName ?? 'coherd-client', ttlMs: this.ttlMs } });
    this.adoptSession(opened, sentMs);
    this.scheduleHeartbeat(0);
  }

  private adoptSession(opened: Record<string, unknown>, sentMs: number): void {
    this.sessionId = String(opened.sessionId);
    this.resumeSecret = String(opened.resumeSecret);
    this.ttlMs = Number(opened.ttlMs);
    this.channel.epoch = Number(opened.epoch);
    this.fencedReason = undefined;
    this.lease.start(sentMs, this.ttlMs);
  }

  private scheduleHeartbeat(delayMs: number): void {
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = this.clock.setTimer(delayMs, () => {
      if (this.closing || this.fencedReason) return;
      this.request({ heartbeat: {} }).catch((e) => this.logger.debug('heartbeat failed', { error: (e as Error).message }));
      this.scheduleHeartbeat(Math.max(200, this.ttlMs / 4));
    });
  }

  private fence(reason: string): void {
    if (this.fencedReason !== undefined) return;
    this.fencedReason = reason;
    this.held.clear();
    this.channel.releases.clear();
    this.heartbeatTimer?.cancel();
    this.logger.warn('session fenced', { session: this.sessionId, reason });
    this.channel.pending.rejectAll(new SessionLostError(reason === 'SESSION_EVICTED' ? 'SESSION_EVICTED' : 'LEASE_DEADLINE_PASSED', `session lost: ${reason}`));
    this.emit('fenced', reason);
    if (this.o.renewSession && !this.closing) void this.renew();
  }

  private async renew(): Promise<void> {
    this.channel.link?.close();
    for (let attempt = 0; !this.closing; attempt++) {
      try {
        this.channel.restartSequence();
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

  private stopTimers(): void {
    this.heartbeatTimer?.cancel();
    this.lease.stop();
    this.channel.stop();
  }
}
