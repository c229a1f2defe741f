import * as grpc from '@grpc/grpc-js';
import { Logger } from '../common/logger';
import { InvalidArgumentError, NotFoundError, PermissionDeniedError } from '../common/errors';
import { toWireError } from '../common/grpc-status-table';
import { errorBody } from './stream-replies';
import { boundedString, nonNegativeMs, MAX_CLIENT_NAME_BYTES } from '../common/wire';
import { OutboundWriter } from './outbox';
import { Session } from './session';
import type { SessionDirectory } from './session-directory';
import { LockRequests } from './lock-requests';
import { RecoveryWindow } from './recovery-window';
import { peerIdentity } from './transport-security';
import type { Clock } from '../common/clock';
import { DEFAULT_STREAM_LIMITS, StreamLimits, StreamWatchdog } from './stream-watchdog';
import type { Quotas } from './quotas';
import { handleSessionMessage, replyOn } from './session-requests';
import type { WorkSlicer } from '../common/loop-slicer';
import { InboundPacer } from './inbound-pacer';

type Call = grpc.ServerDuplexStream<Record<string, unknown>, object>;

export interface SessionStreamContext {
  registry: SessionDirectory;
  requests: LockRequests;
  logger: Logger;
  coordinatorId: string;
  epoch(): number;
  recovery(): RecoveryWindow | undefined;
  /** Throws when this coordinator may not open sessions now (not leader). */
  assertCanServe(): void;
  /** Frees everything of a session closed by its client. */
  closeSession(session: Session): Promise<void>;
  /** With a clock, idle and half-closed streams are finished (limits default to DEFAULT_STREAM_LIMITS). */
  clock?: Clock;
  streamLimits?: StreamLimits;
  /** With a clock: acquire and convert beyond this rate per session get RATE_LIMITED. */
  rate?: Pick<Quotas, 'requestsPerSecond' | 'requestBurst'>;
  /** With a slicer, a stream that used up its share of a slice waits for later ones (inbound-pacer.ts): a flood never stalls the loop. */
  slicer?: WorkSlicer;
}

let nextStreamId = 1;

/**
 * One Connect call, the transport side of a session: the first message
 * opens or resumes a session, then every message is a request on it,
 * handled in arrival order by session-requests.ts (a bad request gets an
 * Error reply and the stream goes on), paced by inbound-pacer.ts (a flood
 * waits for later slices). It also finishes idle and half-closed streams.
 */
export class SessionStream {
  private session: Session | undefined;
  private readonly streamId = nextStreamId++;
  private chain: Promise<void> = Promise.resolve();
  /** Messages queued on `chain` and not yet handled. */
  private queued = 0;
  private closed = false;
  private readonly pacer: InboundPacer<Record<string, unknown>>;
  private readonly writer: OutboundWriter;
  private readonly watchdog: StreamWatchdog | undefined;

  constructor(private readonly call: Call, private readonly ctx: SessionStreamContext) {
    this.writer = { write: (m) => this.call.write(m), onDrain: (fn) => this.call.once('drain', fn) };
    this.pacer = new InboundPacer(ctx.slicer, {
      handle: (m) => { if (this.session) this.handleSafely(this.session, m); },
      isOpen: () => !this.closed && this.session !== undefined,
      pause: () => call.pause(),
      resume: () => call.resume(),
    });
    if (ctx.clock) this.watchdog = new StreamWatchdog(ctx.clock, ctx.streamLimits ?? DEFAULT_STREAM_LIMITS, (idleMs) => this.finishIdle(idleMs));
    call.on('data', (m: Record<string, unknown>) => {
      this.watchdog?.touch();
      // Requests on an open session are handled synchronously; only while an
      // open or resume is under way do messages wait their turn on a promise
      // chain (two promises and a microtask per message saved on the hot path).
      if (this.queued === 0 && this.session) return this.pacer.take(m);
      this.queued++;
      this.chain = this.chain.then(() => this.handle(m)).catch((e) => this.fail(e)).finally(() => { this.queued--; });
    });
    call.on('end', () => this.halfClosed());
    call.on('error', (e) => this.detach((e as Error).message));
    call.on('cancelled', () => this.detach('stream cancelled'));
  }

  /**
   * Ends the stream: the session ended (evicted, expired: the client is
   * told and must start anew), was closed, or lives on elsewhere (another
   * stream resumed it, or this coordinator stopped leading: UNAVAILABLE,
   * the client resumes at the leader).
   */
  endFor(reason: string, message: string): void {
    if (this.closed) return;
    this.closed = true;
    this.watchdog?.stop();
    if (reason === 'SESSION_EXPIRED' || reason === 'SESSION_EVICTED') {
      this.safeWrite({ seq: 0, requestId: 0, evicted: { reason, message } });
      this.call.end();
    } else if (reason === 'SESSION_CLOSED') {
      this.call.end();
    } else {
      this.call.emit('error', { code: grpc.status.UNAVAILABLE, details: `${reason}: ${message}` });
    }
  }

  private async handle(m: Record<string, unknown>): Promise<void> {
    if (this.session) return this.handleInSession(this.session, m);
    if (!this.closed) return this.openOrResume(m, m.body as string | undefined, Number(m.requestId ?? 0));
  }

  private handleInSession(session: Session, m: Record<string, unknown>): void {
    if (!this.closed) handleSessionMessage(this.ctx, session, m);
  }

  private handleSafely(session: Session, m: Record<string, unknown>): void {
    try {
      this.handleInSession(session, m);
    } catch (e) {
      this.fail(e);
    }
  }

  private async openOrResume(m: Record<string, unknown>, body: string | undefined, requestId: number): Promise<void> {
    try {
      this.ctx.assertCanServe();
      let session: Session;
      let resumed = false;
      if (body === 'open') {
        const open = (m.open ?? {}) as Record<string, unknown>;
        const name = boundedString(open.clientName, 'client_name', MAX_CLIENT_NAME_BYTES, false);
        session = await this.ctx.registry.open(name, nonNegativeMs(open.ttlMs, 'ttl_ms'), peerIdentity(this.call));
      } else if (body === 'resume') {
        session = this.resume((m.resume ?? {}) as Record<string, unknown>);
        resumed = true;
      } else {
        throw new InvalidArgumentError('PROTOCOL_VIOLATION', 'the first message must be open or resume');
      }
      if (this.closed) return; // the client went away while etcd answered; the lease will expire
      const reclaimRequired = session.restored && (this.ctx.recovery()?.awaits(session.id) ?? false);
      if (session.restored && !reclaimRequired) {
        // Loaded from etcd but back too late to reclaim: what it held is gone, so the session must go too.
        void this.ctx.registry.evict(session.id, 'SESSION_EXPIRED').catch(() => undefined);
        throw new NotFoundError('SESSION_EXPIRED', `session ${session.id} came back after the recovery window`, { session: session.id });
      }
      if (session.restored) session.outbox.continueAfter(Number(m.ackSeq ?? 0));
      this.session = session;
      session.streamId = this.streamId;
      session.peer = this.call.getPeer();
      session.detachStream = (reason, message) => this.endFor(reason, message);
      const lastRequestId = session.lastRequestId;
      if (requestId > session.lastRequestId) session.lastRequestId = requestId;
      session.outbox.attach(this.writer, Number(m.ackSeq ?? 0));
      this.watchdog?.attached(session.ttlMs);
      replyOn(this.ctx, session, requestId, {
        opened: {
          sessionId: session.id, resumeSecret: session.resumeSecret, ttlMs: session.ttlMs, epoch: this.ctx.epoch(),
          resumed, lastRequestId, reclaimRequired, coordinatorId: this.ctx.coordinatorId, acquireBatch: true,
        },
      }, true);
    } catch (e) {
      const wire = toWireError(e);
      this.safeWrite({ seq: 0, requestId, error: errorBody(e) });
      this.closed = true;
      this.call.emit('error', { code: wire.code, details: `${wire.reason}: ${wire.message}` });
    }
  }

  private resume(resume: Record<string, unknown>): Session {
    const id = boundedString(resume.sessionId, 'session_id', 64, true);
    const session = this.ctx.registry.get(id);
    if (!session) throw new NotFoundError('SESSION_NOT_FOUND', `no live session ${id}`, { session: id });
    if (!this.ctx.registry.checkSecret(session, String(resume.resumeSecret ?? '')) || session.identity !== peerIdentity(this.call)) {
      throw new PermissionDeniedError('SESSION_NOT_OWNED', `session ${id} belongs to another client`, { session: id });
    }
    session.detachStream?.('SESSION_RESUMED_ELSEWHERE', 'session resumed on another stream');
    return session;
  }

  private safeWrite(m: object): void {
    try {
      this.call.write(m);
    } catch {
      /* stream already gone */
    }
  }

  /** The client half-closed: nothing more can come; replies in flight still go out for a grace period, then the server finishes. */
  private halfClosed(): void {
    if (!this.watchdog) return this.detach('client ended the stream');
    this.watchdog.halfClosed(() => {
      this.detach('client ended the stream');
      try {
        this.call.end();
      } catch {
        /* stream already gone */
      }
    });
  }

  private finishIdle(idleMs: number): void {
    this.ctx.logger.info('finishing idle session stream', { session: this.session?.id ?? '', idleMs: Math.round(idleMs) });
    this.endFor('STREAM_IDLE', 'no message from the client within the idle bound; resume the session on a new stream');
  }

  private detach(reason: string): void {
    this.watchdog?.stop();
    const session = this.session;
    if (session && session.streamId === this.streamId) {
      session.streamId = 0;
      session.peer = '';
      session.detachStream = undefined;
      session.outbox.detach(this.writer);
      this.ctx.logger.debug('session stream detached', { session: session.id, reason });
    }
    this.closed = true;
  }

  private fail(e: unknown): void {
    this.ctx.logger.error('session stream handler failed', { error: (e as Error)?.stack });
  }
}
