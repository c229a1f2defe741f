import { ByteRange } from '../../common/byte-range';

import type { FencingToken, LockMode, LockSpace } from '../../common/lock-shapes';

export type { FencingToken, LockMode, LockSpace };

/** Who holds: a session, and for range locks the owner within it ('' for tokens). */
export interface Holder {
  sessionId: string;
  owner: string;
}

export interface AcquireRequest {
  /** Unique per table; the coordinator derives it from session + client request id. */
  requestId: string;
  resource: string;
  space: LockSpace;
  mode: LockMode;
  range: ByteRange;
  holder: Holder;
  /** false: try-lock, fail at once with LOCK_CONFLICT instead of waiting. */
  wait: boolean;
  /** Give up waiting after this long (ms); undefined waits forever. */
  timeoutMs?: number;
  /** Data/attr tokens: never shaped DIRECT (the holder's kernel caches the file; direct-shape.ts). Default false. */
  noDirect?: boolean;
}

export interface Grant {
  lockId: number;
  requestId: string;
  resource: string;
  space: LockSpace;
  mode: LockMode;
  /** Granted range; for tokens it may be larger than asked (DESIGN §3.2). */
  range: ByteRange;
  holder: Holder;
  fencingToken: FencingToken;
  grantedAtMs: number;
  /** The resource bounces: the holder should not cache (DESIGN §3.4). */
  uncached: boolean;
  /**
   * Grows with every change of the lock's mode or range (grant, conversion,
   * reduction). Revokes carry it; a revoke answer must name the version it
   * was planned against, so an answer to an older shape is never applied.
   */
  version: number;
}

/** What the table tells the outside world; the coordinator turns these into messages. */
export type LockTableEvent =
  | { kind: 'granted'; grant: Grant }
  | { kind: 'failed'; requestId: string; holder: Holder; reason: 'TIMEOUT' | 'DEADLOCK' | 'CANCELLED' | 'LOCK_CONFLICT' | 'WAIT_GRAPH_TOO_LARGE'; message: string }
  | { kind: 'revoke'; lockId: number; version: number; holder: Holder; resource: string; space: LockSpace; range: ByteRange; wantedMode: LockMode; attempt: number }
  | { kind: 'revokeOverdue'; lockId: number; holder: Holder; resource: string };

/** convert(): change a held lock's mode and/or range; the lockId stays. */
export interface ConvertRequest {
  /** Identifies this conversion (the grant carries it afterwards); unique among waiting requests. */
  requestId: string;
  lockId: number;
  holder: Holder;
  mode: LockMode;
  /** Ignored (whole file) for attr and dir tokens. */
  range: ByteRange;
  wait: boolean;
  timeoutMs?: number;
}

/** reclaim(): a lock a client held under an earlier leader (DESIGN §6); version defaults to 1. */
export type ReclaimRequest = Omit<Grant, 'grantedAtMs' | 'uncached' | 'version'> & { version?: number };

/**
 * reduce(): a holder gives rights back (a revoke answer): a mode no
 * stronger and a range within the lock's, planned against `version`.
 */
export interface ReduceRequest {
  lockId: number;
  holder: Holder;
  version: number;
  mode: LockMode;
  range: ByteRange;
}

/** A waiting request as dump() shows it, in queue order per resource. */
export interface WaiterInfo {
  requestId: string;
  resource: string;
  space: LockSpace;
  mode: LockMode;
  range: ByteRange;
  holder: Holder;
  queuedAtMs: number;
  /** Queued as a conversion (ahead of ordinary waiters, checked against granted entries only). */
  conversion: boolean;
  /** For a waiting convert(): the lock it converts. */
  lockId?: number;
}

export interface LockTableDump {
  grants: Grant[];
  waiters: WaiterInfo[];
}

export interface LockTableStats {
  grants: number;
  waiters: number;
  /** (resource, space) pairs with at least one grant or waiter. */
  resources: number;
}
