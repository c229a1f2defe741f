import { Outbox } from './outbox';
import type { TokenBucket } from './token-bucket';

/** What the coordinator knows about one client incarnation. */
export class Session {
  readonly outbox: Outbox;
  /** Highest client request id processed; older ones are duplicates of a resumed stream. */
  lastRequestId = 0;
  /** Clock ms when etcd last confirmed this session's keepalive. */
  lastConfirmedMs: number;
  /** Peer address of the attached stream; '' while detached. */
  peer = '';
  /** Identity of the attached stream; a session belongs to that connection only. */
  streamId = 0;
  ended = false;
  /** The client sent close: nothing more is granted or answered but errors, while the session ends. */
  closing = false;
  /** Acquire/convert rate quota, made by the first stream that needs it. */
  requestBucket: TokenBucket | undefined;
  /** TLS certificate name of the client that opened it ('' without TLS); only that identity may resume it. */
  identity = '';
  /** Set by the attached stream: ends it when the session ends or moves to another stream. */
  detachStream: ((reason: string, message: string) => void) | undefined;

  /** Loaded from etcd by a new leader: its client must reclaim what it holds. */
  restored = false;

  constructor(
    readonly id: string,
    /** The secret itself for sessions opened here; '' for restored ones (only the hash is in etcd). */
    readonly resumeSecret: string,
    readonly clientName: string,
    readonly ttlMs: number,
    readonly leaseId: string,
    nowMs: number,
    /** SHA-256 of the resume secret, as stored in etcd. */
    readonly secretHash: string,
    maxUnacked?: number,
  ) {
    this.outbox = new Outbox(maxUnacked);
    this.lastConfirmedMs = nowMs;
  }

  get connected(): boolean {
    return this.streamId !== 0;
  }
}
