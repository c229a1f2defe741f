import { ByteRange } from '../../common/byte-range';
import type { FencingToken, LockMode, LockSpace } from '../../common/lock-shapes';

export type { FencingToken, LockMode, LockSpace };

/** A grant as the client sees it. */
export interface ClientGrant {
  lockId: number;
  resource: string;
  space: LockSpace;
  mode: LockMode;
  range: ByteRange;
  owner: string;
  fencingToken: FencingToken;
  /** The coordinator says this resource bounces: write through, do not cache. */
  uncached: boolean;
  /** The lock's version at the coordinator when this grant was sent (grows with every change). */
  version: number;
}

export interface AcquireOptions {
  resource: string;
  space: LockSpace;
  mode: LockMode;
  /** Default: whole file. Ignored for attr/dir. */
  range?: ByteRange;
  /** Owner within the session (range locks); default ''. */
  owner?: string;
  /** false: try-lock. Default true. */
  wait?: boolean;
  /** Give up waiting after this long; default no limit. */
  timeoutMs?: number;
  /** Data/attr tokens: never granted DIRECT (this host's kernel caches the file; docs/direct-mode.md). Default false. */
  noDirect?: boolean;
  signal?: AbortSignal;
  /** Called when the coordinator says the request waits behind others. */
  onQueued?: () => void;
}

export interface ConvertOptions {
  mode: LockMode;
  range: ByteRange;
  wait?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** What the coordinator asks of a holder. */
export interface RevokeNotice {
  lockId: number;
  /** The part someone else needs. */
  range: ByteRange;
  /** READ: the holder may keep a READ token (downgrade) instead of releasing. */
  wantedMode: LockMode;
  attempt: number;
  /** Ms until eviction if unanswered. */
  deadlineMs: number;
  /** The lock's version when the coordinator sent this revoke. */
  version: number;
}

/**
 * How the holder answered a revoke: released, or what it kept, planned
 * against the lock version it held (ClientGrant.version) when it gave the
 * rest up. A release is valid against any version.
 */
export type RevokeAnswer = { released: true } | { released: false; mode: LockMode; range: ByteRange; version: number };

/** What the token cache hears of held locks beyond the replies to its own requests. */
export interface LockListener {
  /** The coordinator applied a reduction this client answered a revoke with: the lock is at grant.version now. */
  reduced(grant: ClientGrant): void;
  /** A lock is gone without this client giving it up (a reclaim was refused): stop using it; its dirty data is lost. */
  lost(lockId: number, reason: string): void;
}

/**
 * What the agent's hooks need from a session with the coordinator.
 * Implemented by CoherdClient (client.ts); unit tests may use a fake.
 */
export interface TokenClient {
  readonly sessionId: string;
  acquire(options: AcquireOptions): Promise<ClientGrant>;
  convert(lockId: number, options: ConvertOptions): Promise<ClientGrant>;
  /** Releases now and waits for the coordinator's answer. */
  release(lockId: number): Promise<void>;
  /** Releases on the next outgoing message (DESIGN §3.5 early release). */
  releaseLazily(lockId: number): void;
  /**
   * The single revoke handler. It must flush and drop cached data for the
   * range, then resolve with what it kept; the client sends the RevokeAck.
   */
  setRevokeHandler(handler: (notice: RevokeNotice) => Promise<RevokeAnswer>): void;
  /** The single listener for lock changes the caller did not ask for (see LockListener). */
  setLockListener(listener: LockListener): void;
  /** Local monotonic ms (the client's clock) past which the session is self-fenced. */
  leaseDeadlineMs(): number;
  /** true once the lease deadline passed or the session was evicted/expired. */
  isFenced(): boolean;
  /** Events: 'fenced' (reason: string) once the session is lost or its deadline passes; 'session' (sessionId) when a new session replaced a lost one. */
  on(event: 'fenced', listener: (reason: string) => void): this;
  on(event: 'session', listener: (sessionId: string) => void): this;
}
