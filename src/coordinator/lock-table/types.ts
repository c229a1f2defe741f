import { ByteRange } from '../../common/byte-range';

/** Lock spaces of a resource; never mixed (DESIGN §2). */
export type LockSpace = 'data' | 'attr' | 'dir' | 'range';
/** READ/WRITE for tokens (data, attr, dir); SHARED/EXCLUSIVE for range locks. */
export type LockMode = 'READ' | 'WRITE' | 'SHARED' | 'EXCLUSIVE';

export interface FencingToken {
  /** etcd revision at which the granting leader won its election. */
  epoch: number;
  /** Grows with every grant within the epoch. */
  counter: number;
}

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
}

/** What the table tells the outside world; the coordinator turns these into messages. */
export type LockTableEvent =
  | { kind: 'granted'; grant: Grant }
  | { kind: 'failed'; requestId: string; holder: Holder; reason: 'TIMEOUT' | 'DEADLOCK' | 'CANCELLED' | 'LOCK_CONFLICT'; message: string }
  | { kind: 'revoke'; lockId: number; holder: Holder; resource: string; space: LockSpace; range: ByteRange; wantedMode: LockMode; attempt: number }
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

/** reclaim(): a lock a client held under an earlier leader (DESIGN §6). */
export type ReclaimRequest = Omit<Grant, 'grantedAtMs' | 'uncached'>;

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
