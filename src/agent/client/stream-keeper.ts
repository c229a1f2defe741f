import type { Clock } from '../../common/clock';
import type { Logger } from '../../common/logger';
import { SessionLostError } from '../../common/errors';
import type { TlsFiles } from '../../coordinator/transport-security';
import type { ServerMessage, SessionLink, SessionLinkFactory } from './session-connection';
import { connectToSomeEndpoint } from './endpoint-dialer';
import type { RequestChannel } from './request-channel';
import { ReclaimDeps, ResumeDeps, resumeSession } from './session-resume';

/** What keeping the session's stream needs from the client. */
export interface StreamKeeperDeps {
  endpoints: string[];
  tls?: TlsFiles;
  /** Give up dialing after this long. */
  connectTimeoutMs: number;
  openLink?: SessionLinkFactory;
  channel: RequestChannel;
  clock: Clock;
  logger: Logger;
  session(): { sessionId: string; resumeSecret: string };
  /** False once the client closes or its session is lost, its lease checked (ResumeDeps.active). */
  active(): boolean;
  /** True once the client closes or was fenced (the lease itself not checked). */
  ended(): boolean;
  onMessage(m: ServerMessage): void;
  reclaim: ReclaimDeps;
  lease: ResumeDeps['lease'];
  /** The session was resumed on a new stream. */
  resumed(): void;
  /** The coordinator no longer knows the session. */
  expired(): void;
}

/**
 * The session's stream to the leader: dialed at some endpoint, and when it
 * dies, the session resumes on a new one, again if that one died before the
 * resume was over (DESIGN §4); one resume runs at a time.
 */
export class StreamKeeper {
  private reconnecting: Promise<void> | undefined;
  private resumeAgain = false;
  /** Set while a resume waits for reclaim answers: the stream it waits on died. */
  private linkLost: (() => void) | undefined;
  private readonly resumeDeps: ResumeDeps;

  constructor(private readonly d: StreamKeeperDeps) {
    this.resumeDeps = {
      channel: d.channel,
      clock: d.clock,
      dial: (first, stillWanted) => this.dial(first, stillWanted),
      session: d.session,
      active: d.active,
      onLinkLost: (fn) => { this.linkLost = fn; },
      reclaim: d.reclaim,
      lease: d.lease,
    };
  }

  /** Connects to some endpoint and sends the first message; resolves with SessionOpened (a stream no longer wanted is closed instead). */
  async dial(first: object, stillWanted: () => boolean = () => true): Promise<Record<string, unknown>> {
    const { d } = this;
    const { conn, opened } = await connectToSomeEndpoint({
      endpoints: d.endpoints,
      tls: d.tls,
      logger: d.logger,
      clock: d.clock,
      timeoutMs: d.connectTimeoutMs,
      openLink: d.openLink,
      firstMessage: (lastSeq) => ({ requestId: 0, ackSeq: lastSeq, ...first }),
      lastSeq: () => d.channel.lastSeq,
      handlers: (getConn) => ({
        // A stream that resumed a session since replaced carries that session's messages: none may reach this one
        // (their sequence numbers would make it drop its own replies as duplicates).
        onMessage: (m) => { if (stillWanted()) d.onMessage(m); },
        onClosed: (reason) => this.onConnectionClosed(getConn(), reason),
      }),
    });
    if (!stillWanted()) {
      conn.close();
      throw new SessionLostError('LEASE_DEADLINE_PASSED', 'the session this stream resumed was replaced meanwhile');
    }
    // Before the link is: acquires leave as a batch only to a coordinator that takes them (not one of an older version).
    d.channel.batchAcquires = opened.acquireBatch === true;
    d.channel.link = conn;
    return opened;
  }

  private onConnectionClosed(conn: SessionLink, reason: string): void {
    if (conn !== this.d.channel.link || this.d.ended()) return;
    this.d.logger.warn('session stream lost; resuming', { session: this.d.session().sessionId, reason });
    // A resume under way may be waiting for answers on the stream that just died: interrupt it.
    this.linkLost?.();
    this.resumeAgain = true;
    this.reconnecting ??= this.resumeUntilStable().finally(() => { this.reconnecting = undefined; });
  }

  /** Resumes, and again if the new stream died before the resume was over. */
  private async resumeUntilStable(): Promise<void> {
    const session = this.d.session().sessionId;
    while (this.resumeAgain && !this.d.ended() && this.d.session().sessionId === session) {
      this.resumeAgain = false;
      await this.resume();
    }
  }

  private async resume(): Promise<void> {
    const outcome = await resumeSession(this.resumeDeps);
    if (outcome === 'resumed') this.d.resumed();
    else if (outcome === 'expired') this.d.expired();
  }
}
