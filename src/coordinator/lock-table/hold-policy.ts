import { DIRECT_ALONE_MS, DirectModes } from './direct-mode';
import { hasDirectMode } from './modes';
import type { ResourceState } from './resource-state';

/**
 * Anti ping-pong rules (DESIGN §3.2, §3.4), fed by revokes:
 *
 * - adaptive minimum hold (GFS2): a token is not revoked before
 *   grantedAtMs + holdMs. holdMs starts at minHoldMs; a revoke that hits a
 *   grant younger than 2 × holdMs doubles it (up to maxHoldMs), any other
 *   revoke halves it (down to minHoldMs);
 * - contention (Lustre): a resource with CONTENDED_REVOKES revokes within
 *   REVOKE_WINDOW_MS, or more than CONTENDED_GRANTS granted entries, gets
 *   exactly the range it asks for (no "grant more than asked");
 * - uncached mode (Lustre lockless I/O, Ceph LOCK_MIX): UNCACHED_REVOKES
 *   revokes within REVOKE_WINDOW_MS mark the resource uncached for
 *   UNCACHED_FOR_MS; token grants made meanwhile carry `uncached: true`;
 * - direct mode (direct-mode.ts): a session losing a data or attr token
 *   within REVOKE_WINDOW_MS of having had another session's token revoked
 *   for itself (ping-pong) puts the resource in direct mode; so does an
 *   acquire that conflicts with the token of a session it lost one to
 *   within REVOKE_WINDOW_MS (the same ping-pong, seen one revoke earlier).
 *
 * "A revoke" is the first send of a revoke to a lock (attempt 1); resends
 * do not count. "Within REVOKE_WINDOW_MS" means at times t with
 * now − t < REVOKE_WINDOW_MS. Counted per (resource, space).
 */
export const REVOKE_WINDOW_MS = 1000;
export const CONTENDED_REVOKES = 4;
export const CONTENDED_GRANTS = 32;
export const UNCACHED_REVOKES = 8;
export const UNCACHED_FOR_MS = 5000;
/** A record with no revoke for this long carries no information and is dropped. */
const FORGET_AFTER_MS = UNCACHED_FOR_MS;

export class ContentionRecord {
  /** Times of the last UNCACHED_REVOKES revokes, a ring; NaN where unused. */
  readonly revokeTimes = new Array<number>(UNCACHED_REVOKES).fill(Number.NaN);
  /** Sessions whose tokens those revokes hit, and the sessions they made room for, the same ring. */
  readonly revokedSessions = new Array<string>(UNCACHED_REVOKES).fill('');
  readonly waiterSessions = new Array<string>(UNCACHED_REVOKES).fill('');
  private next = 0;
  holdMs: number;
  uncachedUntilMs = Number.NEGATIVE_INFINITY;
  lastRevokeMs = Number.NEGATIVE_INFINITY;

  constructor(minHoldMs: number) {
    this.holdMs = minHoldMs;
  }

  /** Time of the k-th most recent revoke (k = 1 is the latest). */
  private recent(k: number): number {
    const n = UNCACHED_REVOKES;
    return this.revokeTimes[(this.next - k + n * 2) % n];
  }

  record(nowMs: number, grantAgeMs: number, minHoldMs: number, maxHoldMs: number, sessionId = '', waiterSessionId = ''): void {
    this.holdMs = grantAgeMs < 2 * this.holdMs
      ? Math.min(maxHoldMs, this.holdMs * 2)
      : Math.max(minHoldMs, Math.floor(this.holdMs / 2));
    this.revokeTimes[this.next] = nowMs;
    this.revokedSessions[this.next] = sessionId;
    this.waiterSessions[this.next] = waiterSessionId;
    this.next = (this.next + 1) % UNCACHED_REVOKES;
    this.lastRevokeMs = nowMs;
    if (nowMs - this.recent(UNCACHED_REVOKES) < REVOKE_WINDOW_MS) this.uncachedUntilMs = nowMs + UNCACHED_FOR_MS;
  }

  isContended(nowMs: number): boolean {
    return nowMs - this.recent(CONTENDED_REVOKES) < REVOKE_WINDOW_MS;
  }

  isUncached(nowMs: number): boolean {
    return nowMs < this.uncachedUntilMs;
  }

  /**
   * Ping-pong between hosts: the session the latest revoke hit had itself
   * made another session's token be revoked within REVOKE_WINDOW_MS (it
   * took the resource away and now loses it). Readers revoked for one
   * writer, or one host losing its token to others in turn, is contention,
   * not ping-pong.
   */
  isPingPong(nowMs: number): boolean {
    const n = UNCACHED_REVOKES;
    const at = (k: number) => (this.next - k + n * 2) % n;
    const loser = this.revokedSessions[at(1)];
    for (let k = 2; k <= n; k++) {
      const i = at(k);
      if (!(nowMs - this.revokeTimes[i] < REVOKE_WINDOW_MS)) return false;
      if (this.waiterSessions[i] === loser && this.revokedSessions[i] !== loser) return true;
    }
    return false;
  }

  /** True if, within REVOKE_WINDOW_MS, `loser` had a token revoked to make room for `winner`. */
  lostTo(loser: string, winner: string, nowMs: number): boolean {
    const n = UNCACHED_REVOKES;
    for (let k = 1; k <= n; k++) {
      const i = (this.next - k + n * 2) % n;
      if (!(nowMs - this.revokeTimes[i] < REVOKE_WINDOW_MS)) return false;
      if (this.revokedSessions[i] === loser && this.waiterSessions[i] === winner) return true;
    }
    return false;
  }

  isStale(nowMs: number): boolean {
    return nowMs - this.lastRevokeMs >= FORGET_AFTER_MS && !this.isUncached(nowMs);
  }
}

/**
 * Contention records outlive the resource state (a resource that bounces
 * may be empty for a moment between grants), so they live in their own
 * map, created only for revoked resources and swept when stale.
 */
export class HoldPolicy {
  private readonly records = new Map<string, ContentionRecord>();
  private sweepAt = 64;
  readonly direct: DirectModes;

  constructor(readonly minHoldMs: number, readonly maxHoldMs: number, directAloneMs?: number) {
    this.direct = new DirectModes(directAloneMs ?? DIRECT_ALONE_MS);
  }

  private static key(state: ResourceState): string {
    return `${state.space}\u0000${state.resource}`;
  }

  /** Links a new resource state to its record, if the resource was revoked recently. */
  attach(state: ResourceState): void {
    if (this.records.size > 0) state.contention = this.records.get(HoldPolicy.key(state)) ?? null;
  }

  /** Called when a state is dropped: its record goes too unless it still matters. */
  detach(state: ResourceState, nowMs: number): void {
    const rec = state.contention;
    if (rec !== null && rec.isStale(nowMs)) this.records.delete(HoldPolicy.key(state));
  }

  holdMs(state: ResourceState): number {
    return state.contention?.holdMs ?? this.minHoldMs;
  }

  recordRevoke(state: ResourceState, nowMs: number, grantAgeMs: number, sessionId = '', waiterSessionId = ''): void {
    let rec = state.contention;
    const key = HoldPolicy.key(state);
    if (rec === null) {
      rec = this.records.get(key) ?? new ContentionRecord(this.minHoldMs);
      state.contention = rec;
    }
    this.records.set(key, rec);
    rec.record(nowMs, grantAgeMs, this.minHoldMs, this.maxHoldMs, sessionId, waiterSessionId);
    if (hasDirectMode(state.space)) {
      const r = rec;
      this.direct.onRevoke(state.resource, nowMs, r.isPingPong(nowMs),
        () => `ping-pong: ${state.space} tokens revoked back and forth between hosts within ${REVOKE_WINDOW_MS} ms`);
    }
    if (this.records.size >= this.sweepAt) this.sweep(nowMs);
  }

  isContended(state: ResourceState, nowMs: number): boolean {
    return state.contention?.isContended(nowMs) ?? false;
  }

  isUncached(state: ResourceState, nowMs: number): boolean {
    return state.contention?.isUncached(nowMs) ?? false;
  }

  /** Drops stale records; amortised O(1) per revoke because the threshold doubles. */
  private sweep(nowMs: number): void {
    for (const [key, rec] of this.records) if (rec.isStale(nowMs)) this.records.delete(key);
    this.sweepAt = Math.max(64, this.records.size * 2);
  }
}
