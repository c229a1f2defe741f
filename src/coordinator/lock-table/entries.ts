import type { TimerHandle } from '../../common/clock';
import { IntervalNode, RankedNode, nextPriority } from './interval-tree';
import type { RevokeState } from './revocation';
import type { ResourceState } from './resource-state';
import type { HolderRef } from './sessions';
import { LockMode } from './types';

/**
 * A granted lock or token. It is also its own node in the resource's
 * interval tree, so a million of them cost a million objects, not three
 * million. Fields are plain numbers and shared references (the resource
 * state, the interned holder); the public Grant is built on demand.
 */
export class Entry implements IntervalNode<Entry> {
  left: Entry | null = null;
  right: Entry | null = null;
  prio = nextPriority();
  maxEnd: number;
  /** Set while the table is revoking this token. */
  revoke: RevokeState | null = null;
  /** A conversion of this lock that is waiting. */
  pendingConvert: Waiter | null = null;
  /** Grows with every change of mode or range (see Grant.version). */
  version = 1;
  /** Granted to an acquire marked noDirect: its holder's kernel caches the file and cannot go DIRECT (revocation.ts). */
  noDirect = false;

  constructor(
    readonly lockId: number,
    public requestId: string,
    readonly state: ResourceState,
    public mode: LockMode,
    public start: number,
    public end: number,
    readonly holder: HolderRef,
    public epoch: number,
    public counter: number,
    public grantedAtMs: number,
    public uncached: boolean,
  ) {
    this.maxEnd = end;
  }

  get tie(): number {
    return this.lockId;
  }
}

/**
 * A waiting acquire or convert. Waiters sit in two structures of their
 * resource: the FIFO queue (a doubly linked list: conversions first, then
 * ordinary requests) and an interval tree used for overlap searches.
 */
export class Waiter implements RankedNode<Waiter> {
  left: Waiter | null = null;
  right: Waiter | null = null;
  prio = nextPriority();
  maxEnd: number;
  /** Queue order as a number (conversions first, then arrival), kept per subtree so "the earliest waiter overlapping" is a tree search. */
  readonly rank: number;
  minRank: number;
  prev: Waiter | null = null;
  next: Waiter | null = null;
  timer: TimerHandle | null = null;
  /** An acquire marked noDirect (its host's kernel caches the file). */
  noDirect = false;

  constructor(
    readonly requestId: string,
    readonly state: ResourceState,
    readonly mode: LockMode,
    readonly start: number,
    readonly end: number,
    readonly holder: HolderRef,
    /** Asked by a holder whose own granted entry contains the range: goes ahead of ordinary waiters and ignores them. */
    readonly conversion: boolean,
    /** For convert(): the lock that changes when this is granted. */
    readonly target: Entry | null,
    /** Table-wide arrival order; also the tree tie-breaker. */
    readonly seq: number,
    readonly queuedAtMs: number,
  ) {
    this.maxEnd = end;
    this.rank = (conversion ? 0 : 2 ** 52) + seq;
    this.minRank = this.rank;
  }

  get tie(): number {
    return this.seq;
  }
}

/** Queue order: conversions first, each group first come first served. */
export function queuedBefore(a: Waiter, b: Waiter): boolean {
  if (a.conversion !== b.conversion) return a.conversion;
  return a.seq < b.seq;
}
