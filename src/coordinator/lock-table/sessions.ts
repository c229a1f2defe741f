import type { Entry, Waiter } from './entries';
import type { ResourceState } from './resource-state';
import { Holder } from './types';

/**
 * Interned holders. Every (session, owner) pair has exactly one HolderRef
 * while it holds or waits for anything, so "same holder" is a pointer
 * comparison and a million grants share a few thousand holder objects.
 */
export class HolderRef {
  /** Range-lock waiters of this holder: the out-edges of the wait-for graph. */
  rangeWaiters: Set<Waiter> | null = null;
  /** The same waiters by resource, so the deadlock check looks only where other holders wait too. */
  readonly rangeWaitersByState = new Map<ResourceState, Set<Waiter>>();
  /** Granted range locks of this holder: where in-edges of the wait-for graph can come from. */
  rangeGrants: Set<Entry> | null = null;
  /** Grants plus waiters of this holder; at 0 the holder is forgotten. */
  uses = 0;
  /**
   * This holder's granted entries per resource (one entry stored bare, the
   * common case), so "is this a conversion?" costs O(1) for a holder with a
   * few entries there, instead of a scan past every other holder's entries
   * (a file read by 1,000 hosts).
   */
  private readonly byState = new Map<ResourceState, Entry | Set<Entry>>();
  /** Above this many own entries in one resource, the resource's tree answers faster. */
  static readonly SCAN_LIMIT = 16;

  constructor(readonly sessionId: string, readonly owner: string, readonly session: SessionRecord) {}

  /** Whether this holder has a granted entry in state containing [start, end); undefined: too many to scan, ask the tree. */
  holdsContaining(state: ResourceState, start: number, end: number): boolean | undefined {
    const v = this.byState.get(state);
    if (v === undefined) return false;
    if (!(v instanceof Set)) return v.start <= start && end <= v.end;
    if (v.size > HolderRef.SCAN_LIMIT) return undefined;
    for (const e of v) if (e.start <= start && end <= e.end) return true;
    return false;
  }

  addEntry(e: Entry): void {
    if (e.state.space === 'range') (this.rangeGrants ??= new Set()).add(e);
    const v = this.byState.get(e.state);
    if (v === undefined) this.byState.set(e.state, e);
    else if (v instanceof Set) v.add(e);
    else this.byState.set(e.state, new Set([v, e]));
  }

  removeEntry(e: Entry): void {
    if (this.rangeGrants !== null && this.rangeGrants.delete(e) && this.rangeGrants.size === 0) this.rangeGrants = null;
    const v = this.byState.get(e.state);
    if (v === e) this.byState.delete(e.state);
    else if (v instanceof Set) {
      v.delete(e);
      if (v.size === 1) this.byState.set(e.state, v.values().next().value as Entry);
    }
  }

  toHolder(): Holder {
    return { sessionId: this.sessionId, owner: this.owner };
  }
}

export class SessionRecord {
  readonly holders = new Map<string, HolderRef>();
  /** Set while the session is being freed in slices (session-release.ts): nothing more is granted to it or queued for it. */
  releasing: { withGrants: boolean } | null = null;
  readonly grants = new Set<Entry>();
  readonly waiters = new Set<Waiter>();
  /** How many of `waiters` wait in each resource state (the per-resource waiter quota). */
  private readonly waitersByState = new Map<ResourceState, number>();

  constructor(readonly id: string) {}

  waitersOn(state: ResourceState): number {
    return this.waitersByState.get(state) ?? 0;
  }

  countWaiter(state: ResourceState, delta: 1 | -1): void {
    const n = (this.waitersByState.get(state) ?? 0) + delta;
    if (n <= 0) this.waitersByState.delete(state);
    else this.waitersByState.set(state, n);
  }

  isEmpty(): boolean {
    return this.grants.size === 0 && this.waiters.size === 0;
  }
}

export class SessionRegistry {
  private readonly sessions = new Map<string, SessionRecord>();

  get(sessionId: string): SessionRecord | undefined {
    return this.sessions.get(sessionId);
  }

  /** The interned holder, created if needed; call prune() when the operation is over. */
  holder(sessionId: string, owner: string): HolderRef {
    let session = this.sessions.get(sessionId);
    if (session === undefined) {
      session = new SessionRecord(sessionId);
      this.sessions.set(sessionId, session);
    }
    let ref = session.holders.get(owner);
    if (ref === undefined) {
      ref = new HolderRef(sessionId, owner, session);
      session.holders.set(owner, ref);
    }
    return ref;
  }

  /** Forgets a holder that holds and waits for nothing, and its session when that is empty too. */
  prune(holder: HolderRef): void {
    const session = holder.session;
    if (holder.uses === 0 && session.holders.get(holder.owner) === holder) session.holders.delete(holder.owner);
    if (session.holders.size === 0 && this.sessions.get(session.id) === session) this.sessions.delete(session.id);
  }

  addGrant(e: Entry): void {
    e.holder.uses++;
    e.holder.addEntry(e);
    e.holder.session.grants.add(e);
  }

  removeGrant(e: Entry): void {
    e.holder.uses--;
    e.holder.removeEntry(e);
    e.holder.session.grants.delete(e);
  }

  addWaiter(w: Waiter, rangeSpace: boolean): void {
    w.holder.uses++;
    w.holder.session.waiters.add(w);
    w.holder.session.countWaiter(w.state, 1);
    if (rangeSpace) {
      const h = w.holder;
      if (h.rangeWaiters === null) h.rangeWaiters = new Set();
      h.rangeWaiters.add(w);
      let inState = h.rangeWaitersByState.get(w.state);
      if (inState === undefined) h.rangeWaitersByState.set(w.state, (inState = new Set()));
      inState.add(w);
    }
  }

  removeWaiter(w: Waiter): void {
    const h = w.holder;
    h.uses--;
    if (h.session.waiters.delete(w)) h.session.countWaiter(w.state, -1);
    if (h.rangeWaiters !== null) {
      h.rangeWaiters.delete(w);
      if (h.rangeWaiters.size === 0) h.rangeWaiters = null;
      const inState = h.rangeWaitersByState.get(w.state);
      if (inState !== undefined && inState.delete(w) && inState.size === 0) h.rangeWaitersByState.delete(w.state);
    }
  }
}
