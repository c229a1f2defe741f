import type { ContentionRecord } from './hold-policy';
import { Entry, Waiter } from './entries';
import { earliestOverlap, findOverlap, forEachNode, forEachOverlap, insertNode, removeNode } from './interval-tree';
import { isDirect, isExclusive, isTokenSpace } from './modes';
import type { HolderRef } from './sessions';
import { LockMode, LockSpace } from './types';

/**
 * Everything the table knows about one (resource, space): granted entries
 * and waiters, each in three interval trees split by conflict class
 * (shared: READ or SHARED, exclusive: WRITE or EXCLUSIVE, direct: DIRECT),
 * so "conflicts with" is one overlap search per conflicting class (a
 * shared request needs the exclusive and direct trees, a DIRECT one the
 * exclusive and shared trees), and the FIFO queue of waiters (conversions
 * first).
 */
export class ResourceState {
  sharedGranted: Entry | null = null;
  exclusiveGranted: Entry | null = null;
  sharedWaiting: Waiter | null = null;
  exclusiveWaiting: Waiter | null = null;
  directGranted: Entry | null = null;
  directWaiting: Waiter | null = null;
  grantCount = 0;
  waiterCount = 0;
  private convHead: Waiter | null = null;
  private convTail: Waiter | null = null;
  private normHead: Waiter | null = null;
  private normTail: Waiter | null = null;
  /** Tokens of this resource being revoked (so their timers can stop once they block no one). */
  revoking: Set<Entry> | null = null;
  /** Revoke history, set only for resources that were revoked recently. */
  contention: ContentionRecord | null = null;
  readonly isToken: boolean;

  constructor(readonly resource: string, readonly space: LockSpace) {
    this.isToken = isTokenSpace(space);
  }

  isEmpty(): boolean {
    return this.grantCount === 0 && this.waiterCount === 0;
  }

  addGranted(e: Entry): void {
    if (isExclusive(e.mode)) this.exclusiveGranted = insertNode(this.exclusiveGranted, e);
    else if (isDirect(e.mode)) this.directGranted = insertNode(this.directGranted, e);
    else this.sharedGranted = insertNode(this.sharedGranted, e);
    this.grantCount++;
  }

  removeGranted(e: Entry): void {
    if (isExclusive(e.mode)) this.exclusiveGranted = removeNode(this.exclusiveGranted, e);
    else if (isDirect(e.mode)) this.directGranted = removeNode(this.directGranted, e);
    else this.sharedGranted = removeNode(this.sharedGranted, e);
    this.grantCount--;
  }

  /** Appends to the conversion group or the ordinary group of the queue. */
  enqueue(w: Waiter): void {
    if (w.conversion) {
      w.prev = this.convTail;
      if (this.convTail !== null) this.convTail.next = w;
      else this.convHead = w;
      this.convTail = w;
    } else {
      w.prev = this.normTail;
      if (this.normTail !== null) this.normTail.next = w;
      else this.normHead = w;
      this.normTail = w;
    }
    if (isExclusive(w.mode)) this.exclusiveWaiting = insertNode(this.exclusiveWaiting, w);
    else if (isDirect(w.mode)) this.directWaiting = insertNode(this.directWaiting, w);
    else this.sharedWaiting = insertNode(this.sharedWaiting, w);
    this.waiterCount++;
  }

  dequeue(w: Waiter): void {
    if (w.prev !== null) w.prev.next = w.next;
    else if (w.conversion) this.convHead = w.next;
    else this.normHead = w.next;
    if (w.next !== null) w.next.prev = w.prev;
    else if (w.conversion) this.convTail = w.prev;
    else this.normTail = w.prev;
    w.prev = null;
    w.next = null;
    if (isExclusive(w.mode)) this.exclusiveWaiting = removeNode(this.exclusiveWaiting, w);
    else if (isDirect(w.mode)) this.directWaiting = removeNode(this.directWaiting, w);
    else this.sharedWaiting = removeNode(this.sharedWaiting, w);
    this.waiterCount--;
  }

  firstWaiter(): Waiter | null {
    return this.convHead ?? this.normHead;
  }

  /** The waiter after w in queue order (read it before w is dequeued). */
  nextWaiter(w: Waiter): Waiter | null {
    if (w.next !== null) return w.next;
    return w.conversion ? this.normHead : null;
  }

  /** The ordinary (non-conversion) waiter of another holder queued last, walking back over holder's own; step() per waiter looked at. */
  latestOrdinaryWaiterNotOf(holder: HolderRef, step: () => void): Waiter | null {
    let w = this.normTail;
    while (w !== null && w.holder === holder) {
      step();
      w = w.prev;
    }
    return w;
  }

  /** True when w is the last waiter in queue order. */
  isLastWaiter(w: Waiter): boolean {
    return w.next === null && (!w.conversion || this.normHead === null);
  }

  /** A granted entry of another holder that conflicts with (mode, holder, range). */
  conflictingGranted(mode: LockMode, holder: HolderRef, start: number, end: number): Entry | undefined {
    const other = (n: Entry) => n.holder !== holder;
    return findOverlap(this.exclusiveGranted, start, end, other)
      ?? (isExclusive(mode) || isDirect(mode) ? findOverlap(this.sharedGranted, start, end, other) : undefined)
      ?? (isDirect(mode) ? undefined : findOverlap(this.directGranted, start, end, other));
  }

  /** A waiter of another holder that conflicts with (mode, holder, range). */
  conflictingWaiter(mode: LockMode, holder: HolderRef, start: number, end: number): Waiter | undefined {
    const other = (n: Waiter) => n.holder !== holder;
    return findOverlap(this.exclusiveWaiting, start, end, other)
      ?? (isExclusive(mode) || isDirect(mode) ? findOverlap(this.sharedWaiting, start, end, other) : undefined)
      ?? (isDirect(mode) ? undefined : findOverlap(this.directWaiting, start, end, other));
  }

  /**
   * True when `holder` has a granted entry containing the range: its request
   * is a conversion. A request that reaches beyond the holder's own entries
   * is an ordinary one and queues behind earlier waiters (DLM converts only
   * what a lock already covers).
   */
  holderContains(holder: HolderRef, start: number, end: number): boolean {
    const known = holder.holdsContaining(this, start, end);
    if (known !== undefined) return known;
    const own = (n: Entry) => n.holder === holder && n.start <= start && end <= n.end;
    return findOverlap(this.exclusiveGranted, start, end, own) !== undefined
      || findOverlap(this.sharedGranted, start, end, own) !== undefined
      || findOverlap(this.directGranted, start, end, own) !== undefined;
  }

  anyWaiterOverlaps(start: number, end: number): boolean {
    const any = () => true;
    return findOverlap(this.exclusiveWaiting, start, end, any) !== undefined
      || findOverlap(this.sharedWaiting, start, end, any) !== undefined
      || findOverlap(this.directWaiting, start, end, any) !== undefined;
  }

  /** True when a session other than `sessionId` holds or waits for anything here. */
  hasOtherSession(sessionId: string): boolean {
    const other = (n: Entry | Waiter) => n.holder.sessionId !== sessionId;
    for (const root of [this.exclusiveGranted, this.sharedGranted, this.directGranted]) if (findOverlap(root, 0, Infinity, other) !== undefined) return true;
    for (const root of [this.exclusiveWaiting, this.sharedWaiting, this.directWaiting]) if (findOverlap(root, 0, Infinity, other) !== undefined) return true;
    return false;
  }

  /** Every granted entry of another holder conflicting with (mode, holder, range). */
  forEachConflictingGranted(mode: LockMode, holder: HolderRef, start: number, end: number, fn: (e: Entry) => void): void {
    const visit = (n: Entry) => { if (n.holder !== holder) fn(n); };
    forEachOverlap(this.exclusiveGranted, start, end, visit);
    if (isExclusive(mode) || isDirect(mode)) forEachOverlap(this.sharedGranted, start, end, visit);
    if (!isDirect(mode)) forEachOverlap(this.directGranted, start, end, visit);
  }

  /** Every waiter of another holder conflicting with (mode, holder, range), in tree order. */
  forEachConflictingWaiter(mode: LockMode, holder: HolderRef, start: number, end: number, fn: (w: Waiter) => void): void {
    const visit = (n: Waiter) => { if (n.holder !== holder) fn(n); };
    forEachOverlap(this.exclusiveWaiting, start, end, visit);
    if (isExclusive(mode) || isDirect(mode)) forEachOverlap(this.sharedWaiting, start, end, visit);
    if (!isDirect(mode)) forEachOverlap(this.directWaiting, start, end, visit);
  }

  /**
   * The earliest waiter (queue order) that granted entry e keeps waiting,
   * if any: a search on the waiters' queue rank (interval-tree.ts
   * earliestOverlap), O(log n) rather than a visit of every overlapping
   * waiter (the revoker asks at every send; 10,000 waiters on a token).
   */
  firstBlockedBy(e: Entry): Waiter | undefined {
    const other = (w: Waiter) => w.holder !== e.holder;
    let first = earliestOverlap(this.exclusiveWaiting, e.start, e.end, other);
    if (isExclusive(e.mode) || isDirect(e.mode)) first = earliestOverlap(this.sharedWaiting, e.start, e.end, other, first);
    return isDirect(e.mode) ? first : earliestOverlap(this.directWaiting, e.start, e.end, other, first);
  }

  forEachGranted(fn: (e: Entry) => void): void {
    forEachNode(this.sharedGranted, fn);
    forEachNode(this.exclusiveGranted, fn);
    forEachNode(this.directGranted, fn);
  }

  forEachWaiter(fn: (w: Waiter) => void): void {
    for (let w = this.firstWaiter(); w !== null; w = this.nextWaiter(w)) fn(w);
  }
}
