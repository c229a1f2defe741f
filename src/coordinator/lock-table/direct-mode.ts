/**
 * Direct mode (docs/direct-mode.md; Ceph's LOCK_MIX, Lustre's lockless
 * I/O): a resource whose data or attr tokens ping-pong between hosts stops
 * being cached. While it is direct, every acquire of its data or attr
 * tokens is granted as DIRECT over the whole file: DIRECT tokens share
 * with each other and conflict with READ and WRITE, so entering revokes the
 * caching tokens once, and then hosts read and write the backing store
 * with no token traffic per operation.
 *
 * - Entering: a first revoke of a data or attr token that hits a session
 *   which, within REVOKE_WINDOW_MS, had another session's token of that
 *   (resource, space) revoked for itself: A lost it to B, now B loses it to
 *   A (ping-pong between hosts; readers revoked for a writer, or one host
 *   losing its token to others in turn, is not). Or, one revoke earlier,
 *   an acquire by A that conflicts with a token of B, within
 *   REVOKE_WINDOW_MS of A losing one to B: that acquire is already DIRECT,
 *   so B's token is revoked at once (no minimum hold) and once.
 * - Shared: the resource counts as shared at the moment it enters, at
 *   every later first revoke of its tokens, and at every acquire of its
 *   data or attr tokens made while another session holds or waits for any
 *   of them.
 * - Leaving: at the first acquire (or listing) at least `aloneMs` after it
 *   was last shared. Agents give DIRECT tokens back DIRECT_RENEW_MS after
 *   their grant (agent side), so a host that went on using the file asks
 *   again within that time and keeps the resource shared, and a host that
 *   stopped lets go of it.
 *
 * Evaluated lazily at those moments only: no timers, a pure function of
 * the revoke and acquire history, which the property model recomputes.
 */
/** Default time without sharing after which a resource leaves direct mode. */
export const DIRECT_ALONE_MS = 2000;

export interface DirectResourceInfo {
  resource: string;
  /** When the resource entered direct mode (table clock). */
  enteredAtMs: number;
  /** The last time two sessions were seen wanting it. */
  lastSharedMs: number;
  /** Why it entered, for `coherd locks` and logs. */
  reason: string;
}

export interface DirectCounters {
  /** Resources in direct mode now. */
  active: number;
  /** Times a resource entered direct mode. */
  entered: number;
  /** Times a resource left it because one host was alone. */
  left: number;
}

export class DirectModes {
  private readonly records = new Map<string, DirectResourceInfo>();
  private enteredCount = 0;
  private leftCount = 0;

  constructor(readonly aloneMs: number) {}

  /** A first revoke of a data or attr token of `resource`; pingPong: the revoke history now shows ping-pong. */
  onRevoke(resource: string, nowMs: number, pingPong: boolean, reason: () => string): void {
    const rec = this.live(resource, nowMs);
    if (rec !== undefined) {
      rec.lastSharedMs = nowMs;
      return;
    }
    if (!pingPong) return;
    this.records.set(resource, { resource, enteredAtMs: nowMs, lastSharedMs: nowMs, reason: reason() });
    this.enteredCount++;
  }

  /**
   * An acquire that takes a token back from the session it lost one to
   * (ping-pong seen at the acquire): the resource enters now. False when
   * direct mode is off (aloneMs 0).
   */
  enter(resource: string, nowMs: number, reason: string): boolean {
    if (this.aloneMs <= 0) return false;
    if (this.live(resource, nowMs) !== undefined) return true;
    this.records.set(resource, { resource, enteredAtMs: nowMs, lastSharedMs: nowMs, reason });
    this.enteredCount++;
    return true;
  }

  /** At an acquire of a data or attr token: true when it is to be granted DIRECT; `shared` when another session holds or waits there. */
  atAcquire(resource: string, nowMs: number, shared: () => boolean): boolean {
    const rec = this.live(resource, nowMs);
    if (rec === undefined) return false;
    if (shared()) rec.lastSharedMs = nowMs;
    return true;
  }

  isDirect(resource: string, nowMs: number): boolean {
    return this.live(resource, nowMs) !== undefined;
  }

  /** Resources in direct mode now, by resource name. */
  list(nowMs: number): DirectResourceInfo[] {
    for (const r of [...this.records.keys()]) this.live(r, nowMs);
    return [...this.records.values()].map((r) => ({ ...r })).sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : 0));
  }

  counters(nowMs: number): DirectCounters {
    const active = this.list(nowMs).length;
    return { active, entered: this.enteredCount, left: this.leftCount };
  }

  /** The record if the resource is still direct; a record alone for aloneMs is dropped (the resource left direct mode). */
  private live(resource: string, nowMs: number): DirectResourceInfo | undefined {
    const rec = this.records.get(resource);
    if (rec === undefined) return undefined;
    if (nowMs - rec.lastSharedMs < this.aloneMs) return rec;
    this.records.delete(resource);
    this.leftCount++;
    return undefined;
  }
}
