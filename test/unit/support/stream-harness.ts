import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { FakeClock } from '../../../src/common/clock';
import { NotFoundError, UnavailableError } from '../../../src/common/errors';
import { createLogger, Logger } from '../../../src/common/logger';
import { LeaderState } from '../../../src/coordinator/leader-state';
import { LockRequests } from '../../../src/coordinator/lock-requests';
import { Session } from '../../../src/coordinator/session';
import type { SessionDirectory } from '../../../src/coordinator/session-directory';
import type { SessionEndReason } from '../../../src/coordinator/session-registry';
import { SessionStream, SessionStreamContext } from '../../../src/coordinator/session-stream';
import { DEFAULT_STREAM_LIMITS } from '../../../src/coordinator/stream-watchdog';
import { DEFAULT_QUOTAS } from '../../../src/coordinator/quotas';

type Message = Record<string, unknown>;

/** The server side of one Connect call as SessionStream uses it; records what it is sent. */
export class FakeCall extends EventEmitter {
  readonly written: Message[] = [];
  readonly errors: Array<{ code?: number; details?: string }> = [];
  ended = false;

  constructor(private readonly identity = '') {
    super();
    this.on('error', (e) => this.errors.push(e as { code?: number; details?: string }));
  }

  write(m: Message): boolean {
    this.written.push(m);
    return true;
  }

  end(): void {
    this.ended = true;
  }

  getPeer(): string {
    return 'fake:1';
  }

  getAuthContext(): { sslPeerCertificate?: { subject: { CN: string } } } {
    return this.identity ? { sslPeerCertificate: { subject: { CN: this.identity } } } : {};
  }

  /** The client sends a message (handled synchronously on an open session). */
  send(m: Message): void {
    this.emit('data', m);
  }

  /** Replies to a client request id, in order. */
  repliesTo(requestId: number): Message[] {
    return this.written.filter((m) => Number(m.requestId) === requestId);
  }

  get finished(): boolean {
    return this.ended || this.errors.length > 0;
  }
}

/** Sessions in memory (no etcd), with the registry's rules that matter to a stream. */
export class MemoryDirectory implements SessionDirectory {
  readonly live = new Map<string, Session>();
  private n = 0;

  constructor(private readonly clock: FakeClock, readonly onEnded: (s: Session, reason: SessionEndReason) => void = () => undefined) {}

  get(id: string): Session | undefined {
    return this.live.get(id);
  }

  async open(clientName: string, requestedTtlMs: number | undefined, identity = ''): Promise<Session> {
    const n = ++this.n;
    const s = new Session(`s${n}`, `secret-${n}`, clientName, requestedTtlMs ?? 10_000, `lease-${n}`, this.clock.nowMs(), `hash-${n}`);
    s.identity = identity;
    this.live.set(s.id, s);
    return s;
  }

  async heartbeat(session: Session): Promise<number> {
    session.lastConfirmedMs = this.clock.nowMs();
    return session.ttlMs;
  }

  async evict(id: string, reason: SessionEndReason = 'SESSION_EVICTED'): Promise<void> {
    const s = this.live.get(id);
    if (!s) throw new NotFoundError('SESSION_NOT_FOUND', 'no such session');
    this.live.delete(id);
    s.ended = true;
    s.detachStream?.(reason, reason);
    this.onEnded(s, reason);
  }

  checkSecret(session: Session, secret: string): boolean {
    return secret === `secret-${session.id.slice(1)}`;
  }
}

/**
 * A coordinator's stream side without gRPC or etcd: the real SessionStream,
 * LockRequests and LeaderState over FakeCalls, a FakeClock and sessions in
 * memory (a `slicer` in the context also paces the table, as in the
 * coordinator). `leading = false` makes the table unavailable (NOT_LEADER), as
 * after a lost election before the streams are ended.
 */
export class StreamHarness {
  readonly clock = new FakeClock(1000);
  readonly logLines: Message[] = [];
  readonly logger: Logger;
  readonly directory: MemoryDirectory;
  readonly leader: LeaderState;
  readonly requests: LockRequests;
  leading = true;

  constructor(extra: Partial<SessionStreamContext> = {}) {
    const sink = new Writable({ write: (chunk, _enc, cb) => { this.logLines.push(JSON.parse(String(chunk))); cb(); } });
    this.logger = createLogger({ json: true, level: 'debug', stream: sink });
    this.directory = new MemoryDirectory(this.clock, (s, reason) => this.leader.freeGrantsOf(s, reason, () => this.leading));
    this.leader = new LeaderState({
      clock: this.clock, logger: this.logger, sessions: this.directory, epoch: 1, revokeDeadlineMs: 5000,
      restoredSessionIds: [], maxRecoveryMs: 30_000, evictedWaitMs: 0, slicer: extra.slicer,
    });
    this.requests = new LockRequests({
      table: () => {
        if (!this.leading) throw new UnavailableError('NOT_LEADER', 'this coordinator is not the leader');
        return this.leader.table;
      },
      clock: this.clock,
      assertCanGrant: () => this.leader.assertCanGrant('test'),
      recovering: (id) => this.leader.recovery.awaits(id),
    });
    this.ctxExtra = extra;
  }

  private readonly ctxExtra: Partial<SessionStreamContext>;

  context(): SessionStreamContext {
    return {
      registry: this.directory,
      requests: this.requests,
      logger: this.logger,
      coordinatorId: 'test',
      epoch: () => 1,
      recovery: () => this.leader.recovery,
      assertCanServe: () => undefined,
      closeSession: async (session) => {
        this.leader.table.releaseSession(session.id);
        await this.directory.evict(session.id, 'SESSION_CLOSED').catch(() => undefined);
      },
      clock: this.clock,
      streamLimits: DEFAULT_STREAM_LIMITS,
      rate: DEFAULT_QUOTAS,
      ...this.ctxExtra,
    };
  }

  /** A new stream; the stream object is returned with its call. */
  connect(identity = ''): { call: FakeCall; stream: SessionStream } {
    const call = new FakeCall(identity);
    const stream = new SessionStream(call as never, this.context());
    return { call, stream };
  }

  /** A new stream with an open session. */
  async openSession(clientName = 'c', identity = ''): Promise<{ call: FakeCall; stream: SessionStream; session: Session }> {
    const { call, stream } = this.connect(identity);
    call.send({ requestId: 1, body: 'open', open: { clientName, ttlMs: 10_000 } });
    await settle();
    const opened = call.written.find((m) => m.opened !== undefined);
    if (!opened) throw new Error(`open failed: ${JSON.stringify(call.written)}`);
    const session = this.directory.get(String((opened.opened as Message).sessionId));
    if (!session) throw new Error('no session');
    return { call, stream, session };
  }

  logged(message: string): Message[] {
    return this.logLines.filter((l) => l.message === message);
  }
}

/** Lets the stream's promise chain (open, resume) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

export function rangeAcquire(resource: string, extra: Message = {}): Message {
  return { resource, space: 'RANGE_LOCK', mode: 'EXCLUSIVE', range: { start: 0, end: 100 }, owner: '', wait: true, ...extra };
}

export function reasonOf(m: Message | undefined): string | undefined {
  return m?.error === undefined ? undefined : String((m.error as Message).reason);
}
