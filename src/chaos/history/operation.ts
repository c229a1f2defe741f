/**
 * One operation of a chaos run, as its client saw it (Jepsen's and etcd
 * robustness's shape): invoked at invokeMs, completed at completeMs with a
 * result. Times are milliseconds on the harness's monotonic clock, from
 * the start of the run.
 *
 * result: 'ok' the operation took effect (or the read returned value);
 * 'fail' it certainly did not take effect; 'info' nobody knows (timeout,
 * crash, EIO after the request may have been applied) — checkers treat an
 * 'info' operation as possibly applied at any time after its invocation.
 */
export type OpResult = 'ok' | 'fail' | 'info';

export type OpType =
  | 'lock' // acquire of an exclusive range lock (key: resource)
  | 'unlock' // its release (lockOp: the lock op's id)
  | 'store-write' // a write to the fencing-aware store under a lock
  | 'read' // register read (key: file), value: what was read (null: empty file)
  | 'write' // register write, value: the unique value written
  | 'append' // append of value (a unique line) followed by fsync
  | 'final-read' // after the run, from the backing directory: value is the file's lines
  | 'create'
  | 'rename'
  | 'unlink'
  // names workload (key: names/pN-a or -b; rename: names/pN-a>names/pN-b): fail ENOENT/EEXIST are definite outcomes
  | 'name-create' // O_CREAT|O_EXCL, then write of value (unique)
  | 'name-unlink'
  | 'name-rename' // plain rename within one pair (replaces the target)
  | 'name-stat' // ok: exists; fail ENOENT: absent
  | 'name-read'; // ok: value is the content ('' empty); fail ENOENT: absent

export interface FencingTokenValue {
  epoch: number;
  counter: number;
}

export interface Operation {
  id: number;
  /** A sequential client: at most one of its operations is open at a time. */
  process: string;
  /** The host (agent, lock client) it ran on. */
  host: string;
  type: OpType;
  /** File or lock resource the operation touches. */
  key: string;
  invokeMs: number;
  /** null while open; an 'info' op may complete at any later time. */
  completeMs: number | null;
  result: OpResult;
  value?: string | null | string[];
  error?: string;
  fencingToken?: FencingTokenValue;
  /** The writer's own lease deadline when it issued the operation. */
  leaseDeadlineMs?: number;
  /** unlock: the lock op it releases. */
  lockOp?: number;
  /** unlock: when the holder was told it lost the lock (fenced, evicted), if it was. */
  toldLostMs?: number;
  /** store-write: whether the fencing store accepted it, and when it arrived there. */
  accepted?: boolean;
  appliedMs?: number;
}

/** A fault window, recorded by the fault that ran. */
export interface FaultRecord {
  id: number;
  /** The fault's name (kill-agent, partition-agent, …). */
  fault: string;
  target: string;
  startMs: number;
  endMs: number | null;
  detail?: string;
}

/** One line of history.jsonl: an operation or a fault. */
export interface RunMeta {
  seed: number;
  startedAt: string;
  durationMs: number;
  options: Record<string, unknown>;
  /** Error-level lines the agents logged (an invariant broke, said the agent itself), counted by host and message. */
  loggedErrors?: LoggedError[];
}

export interface LoggedError {
  host: string;
  message: string;
  error?: string;
  count: number;
  firstAt: string;
}

/** One line of history.jsonl. */
/**
 * An agent's lease deadline as the harness learnt it (the agent logs each
 * change): from atMs on, the host holds a lease until deadlineMs; null: it
 * is fenced and holds nothing. Run ms, like every time in the history.
 */
export interface LeaseRecord {
  host: string;
  atMs: number;
  deadlineMs: number | null;
}

export type HistoryLine = ({ kind: 'op' } & Operation) | ({ kind: 'fault' } & FaultRecord) | ({ kind: 'meta' } & RunMeta) | ({ kind: 'lease' } & LeaseRecord);

export function compareTokens(a: FencingTokenValue, b: FencingTokenValue): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.counter - b.counter;
}

export function formatToken(t: FencingTokenValue | undefined): string {
  return t ? `${t.epoch}.${t.counter}` : '-';
}
