/**
 * A brute-force model of the lock table's grant rules (DESIGN §2–3), for
 * property tests: plain arrays, O(n²) scans, no trees, no timers. It
 * decides what the table must decide (grant, queue, refuse), but takes the
 * table's timing-driven outputs — timeouts firing and revokes being sent —
 * from the table's event log, checking them as it goes.
 */
import {
  EOF, MFailure, MGrant, MHolder, MWaiter, Mode, Outcome, Req, Shape, Space, conflicts, excl, hkey, isToken, keyOf, modeConflict, queuedBefore, reducesTo, sameHolder, upgrades,
} from './lock-table-model-shapes';

export * from './lock-table-model-shapes';

export class LockTableModel {
  grants: MGrant[] = [];
  waiters: MWaiter[] = [];
  failures: MFailure[] = [];
  private revokes = new Map<string, number[]>();
  private revokedSessions = new Map<string, Array<{ lost: string; gained: string }>>();
  /** Resources in direct mode: when two sessions last wanted them (docs/direct-mode.md). */
  private direct = new Map<string, number>();
  directGrants = 0;
  private seq = 0;

  constructor(private readonly nowMs: () => number, private readonly maxWaitersPerSession: number, private readonly maxWaitersPerResource = Infinity) {}

  queue(key: string): MWaiter[] {
    return this.waiters.filter((w) => keyOf(w) === key).sort((a, b) => (queuedBefore(a, b) ? -1 : 1));
  }

  grantByLockId(lockId: number): MGrant | undefined {
    return this.grants.find((g) => g.lockId === lockId);
  }

  pendingConvert(lockId: number): MWaiter | undefined {
    return this.waiters.find((w) => w.targetLockId === lockId);
  }

  // ---- contention, from observed revokes ----

  recordRevoke(key: string, atMs: number, sessionId = '', resource = '', space: Space = 'range', waiterSessionId = ''): void {
    const list = this.revokes.get(key) ?? [];
    list.push(atMs);
    this.revokes.set(key, list);
    const who = this.revokedSessions.get(key) ?? [];
    who.push({ lost: sessionId, gained: waiterSessionId });
    this.revokedSessions.set(key, who);
    if (space !== 'data' && space !== 'attr') return;
    if (this.isDirect(resource, atMs)) {
      this.direct.set(resource, atMs);
      return;
    }
    // Ping-pong: the session losing it now had, within the second, another session's token revoked for itself.
    let pingPong = false;
    for (let j = list.length - 2; j >= 0 && j >= list.length - 8 && atMs - list[j] < 1000 && !pingPong; j--) {
      pingPong = who[j].gained === sessionId && who[j].lost !== sessionId;
    }
    if (pingPong) this.direct.set(resource, atMs);
  }

  /** In direct mode: shared within the last ALONE_MS (2000); a lapsed record is forgotten. */
  private isDirect(resource: string, nowMs: number): boolean {
    const last = this.direct.get(resource);
    if (last === undefined) return false;
    if (nowMs - last < 2000) return true;
    this.direct.delete(resource);
    return false;
  }

  /** Within the second (and the last 8 revokes of the key), `loser` had a token revoked to make room for `winner`. */
  private lostTo(key: string, loser: string, winner: string, now: number): boolean {
    const list = this.revokes.get(key) ?? [];
    const who = this.revokedSessions.get(key) ?? [];
    for (let j = list.length - 1; j >= 0 && j >= list.length - 8 && now - list[j] < 1000; j--) {
      if (who[j].lost === loser && who[j].gained === winner) return true;
    }
    return false;
  }

  /**
   * An acquire of a data or attr token of a direct resource becomes DIRECT
   * over the whole file; an acquire that conflicts with a grant of a session
   * it lost a token of the same key to within the second enters direct mode.
   * One marked noDirect (its host's kernel caches the file) is left as asked
   * and touches no direct-mode record.
   */
  private directShape(r: Req): Req {
    if ((r.space !== 'data' && r.space !== 'attr') || r.mode === 'DIRECT' || r.noDirect === true) return r;
    const now = this.nowMs();
    if (!this.isDirect(r.resource, now)) {
      const s = r.holder.sessionId;
      const takesBack = this.grants.some((g) => conflicts(g, r) && g.holder.sessionId !== s && this.lostTo(keyOf(r), s, g.holder.sessionId, now));
      if (!takesBack) return r;
      this.direct.set(r.resource, now);
    }
    const mine = (x: { resource: string; space: Space; holder: MHolder }) => x.resource === r.resource && (x.space === 'data' || x.space === 'attr') && x.holder.sessionId !== r.holder.sessionId;
    if (this.grants.some(mine) || this.waiters.some(mine)) this.direct.set(r.resource, now);
    this.directGrants++;
    return { ...r, mode: 'DIRECT', start: 0, end: EOF };
  }

  private contended(key: string): boolean {
    const now = this.nowMs();
    const recent = (this.revokes.get(key) ?? []).filter((t) => now - t < 1000).length;
    return recent >= 4 || this.grants.filter((g) => keyOf(g) === key).length > 32;
  }

  uncached(key: string, space: Space): boolean {
    if (!isToken(space)) return false;
    const times = this.revokes.get(key) ?? [];
    const now = this.nowMs();
    for (let j = 7; j < times.length; j++) {
      if (times[j] - times[j - 7] < 1000 && now < times[j] + 5000) return true;
    }
    return false;
  }

  // ---- the wait-for graph ----

  edges(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const w of this.waiters) {
      if (w.space !== 'range') continue;
      const set = out.get(hkey(w.holder)) ?? new Set<string>();
      out.set(hkey(w.holder), set);
      for (const g of this.grants) if (conflicts(g, w)) set.add(hkey(g.holder));
      if (w.conversion) continue;
      for (const v of this.waiters) if (conflicts(v, w) && queuedBefore(v, w)) set.add(hkey(v.holder));
    }
    return out;
  }

  hasCycle(): boolean {
    const g = this.edges();
    const state = new Map<string, number>();
    const visit = (n: string): boolean => {
      const s = state.get(n);
      if (s === 1) return true;
      if (s === 2) return false;
      state.set(n, 1);
      for (const m of g.get(n) ?? []) if (visit(m)) return true;
      state.set(n, 2);
      return false;
    };
    for (const n of g.keys()) if (visit(n)) return true;
    return false;
  }

  // ---- the rules ----

  /** A request within one of the holder's own grants converts; one reaching beyond them queues like any other. */
  private isConversion(r: Shape): boolean {
    return this.grants.some((g) => keyOf(g) === keyOf(r) && sameHolder(g.holder, r.holder) && g.start <= r.start && r.end <= g.end);
  }

  private expand(r: Shape): [number, number] {
    const key = keyOf(r);
    if (r.space !== 'data' || this.contended(key)) return [r.start, r.end];
    const ws = this.waiters.filter((w) => keyOf(w) === key);
    if (ws.some((w) => w.start < r.end && r.start < w.end)) return [r.start, r.end];
    const blockers: { start: number; end: number }[] = [
      ...this.grants.filter((g) => keyOf(g) === key && !sameHolder(g.holder, r.holder) && modeConflict(g.mode, r.mode)),
      ...ws,
    ];
    let lo = 0;
    let hi = EOF;
    for (const b of blockers) {
      if (b.end <= r.start) lo = Math.max(lo, b.end);
      if (b.start >= r.end) hi = Math.min(hi, b.start);
    }
    return [lo, hi];
  }

  private newGrant(r: Shape & { requestId: string }): MGrant {
    const [start, end] = this.expand(r);
    return {
      lockId: -1, requestId: r.requestId, resource: r.resource, space: r.space, mode: r.mode, start, end,
      holder: r.holder, grantedAtMs: this.nowMs(), uncached: this.uncached(keyOf(r), r.space), version: 1, noDirect: r.noDirect === true,
    };
  }

  /** Applies a conversion to g; returns undo, or null when the result has a wait-for cycle (already undone). */
  private applyConvert(g: MGrant, r: { requestId: string; mode: Mode; start: number; end: number }): { freed: boolean } | null {
    const old = { mode: g.mode, start: g.start, end: g.end, requestId: g.requestId, grantedAtMs: g.grantedAtMs, uncached: g.uncached };
    const upgrade = upgrades(g.mode, r.mode) || r.start < g.start || r.end > g.end;
    Object.assign(g, { mode: r.mode, start: r.start, end: r.end });
    if (upgrade && g.space === 'range' && this.hasCycle()) {
      Object.assign(g, old);
      return null;
    }
    g.requestId = r.requestId;
    g.version++;
    if (upgrade) {
      g.grantedAtMs = this.nowMs();
      g.uncached = this.uncached(keyOf(g), g.space);
    }
    return { freed: old.start < g.start || old.end > g.end || (old.mode !== g.mode && !excl(g.mode)) };
  }

  private request(r: Req, target: MGrant | undefined): Outcome {
    const conversion = this.isConversion(r);
    const grantable = !this.grants.some((g) => conflicts(g, r)) && (conversion || !this.waiters.some((w) => conflicts(w, r)));
    if (grantable) {
      if (target !== undefined) {
        const res = this.applyConvert(target, r);
        if (res === null) return { kind: 'error', reason: 'DEADLOCK' };
        if (res.freed) this.walk(keyOf(target));
        return { kind: 'granted', grant: target };
      }
      const g = this.newGrant(r);
      this.grants.push(g);
      if (conversion && r.space === 'range' && this.hasCycle()) {
        this.grants.pop();
        return { kind: 'error', reason: 'DEADLOCK' };
      }
      return { kind: 'granted', grant: g };
    }
    if (!r.wait) return { kind: 'error', reason: 'LOCK_CONFLICT' };
    if (this.waiters.filter((w) => w.holder.sessionId === r.holder.sessionId).length >= this.maxWaitersPerSession) {
      return { kind: 'error', reason: 'QUEUE_FULL' };
    }
    if (this.waiters.filter((w) => w.holder.sessionId === r.holder.sessionId && keyOf(w) === keyOf(r)).length >= this.maxWaitersPerResource) {
      return { kind: 'error', reason: 'WAITER_QUOTA' };
    }
    const w: MWaiter = {
      requestId: r.requestId, resource: r.resource, space: r.space, mode: r.mode, start: r.start, end: r.end,
      holder: r.holder, conversion, targetLockId: target?.lockId, seq: this.seq++, queuedAtMs: this.nowMs(),
      deadlineMs: r.timeoutMs === undefined ? undefined : this.nowMs() + r.timeoutMs, noDirect: r.noDirect === true,
    };
    this.waiters.push(w);
    if (r.space === 'range' && this.hasCycle()) {
      this.waiters.pop();
      return { kind: 'error', reason: 'DEADLOCK' };
    }
    return { kind: 'queued' };
  }

  acquire(r: Req): Outcome {
    return this.request(this.directShape(r), undefined);
  }

  convert(r: { requestId: string; lockId: number; holder: MHolder; mode: Mode; start: number; end: number; wait: boolean; timeoutMs?: number }): Outcome {
    const g = this.grantByLockId(r.lockId);
    if (g === undefined || !sameHolder(g.holder, r.holder)) return { kind: 'error', reason: 'LOCK_NOT_FOUND' };
    if (this.pendingConvert(g.lockId) !== undefined) return { kind: 'error', reason: 'INVALID_ARGUMENT' };
    return this.request({ ...r, resource: g.resource, space: g.space }, g);
  }

  /**
   * A revoke answer that keeps part of the lock: applied at once whatever
   * waits (a conversion of the same lock included), if planned against the
   * current version and only reducing.
   */
  reduce(r: { lockId: number; holder: MHolder; version: number; mode: Mode; start: number; end: number }): Outcome {
    const g = this.grantByLockId(r.lockId);
    if (g === undefined || !sameHolder(g.holder, r.holder)) return { kind: 'error', reason: 'LOCK_NOT_FOUND' };
    if (r.version < g.version) return { kind: 'error', reason: 'STALE_VERSION' };
    if (r.version > g.version) return { kind: 'error', reason: 'PROTOCOL_VIOLATION' };
    if (r.start < g.start || r.end > g.end || !reducesTo(g.mode, r.mode)) return { kind: 'error', reason: 'PROTOCOL_VIOLATION' };
    Object.assign(g, { mode: r.mode, start: r.start, end: r.end, version: g.version + 1 });
    this.walk(keyOf(g));
    return { kind: 'granted', grant: g };
  }

  /** An evicted session: its waiters go at once, silently; its grants stay. */
  dropWaiters(sessionId: string): void {
    const gone = this.waiters.filter((w) => w.holder.sessionId === sessionId);
    this.waiters = this.waiters.filter((w) => w.holder.sessionId !== sessionId);
    for (const key of new Set(gone.map(keyOf))) this.walk(key);
  }

  private removeWaiter(w: MWaiter): void {
    this.waiters.splice(this.waiters.indexOf(w), 1);
  }

  release(lockId: number): void {
    const g = this.grantByLockId(lockId) as MGrant;
    const w = this.pendingConvert(lockId);
    if (w !== undefined) {
      this.removeWaiter(w);
      this.failures.push({ requestId: w.requestId, reason: 'CANCELLED' });
    }
    this.grants.splice(this.grants.indexOf(g), 1);
    this.walk(keyOf(g));
  }

  cancel(requestId: string): boolean {
    const w = this.waiters.find((x) => x.requestId === requestId);
    if (w === undefined) return false;
    this.removeWaiter(w);
    this.walk(keyOf(w));
    return true;
  }

  releaseSession(sessionId: string): void {
    const touched = new Map<string, { resource: string; space: Space }>();
    for (const x of [...this.waiters, ...this.grants]) {
      if (x.holder.sessionId === sessionId) touched.set(keyOf(x), { resource: x.resource, space: x.space });
    }
    this.waiters = this.waiters.filter((w) => w.holder.sessionId !== sessionId);
    this.grants = this.grants.filter((g) => g.holder.sessionId !== sessionId);
    const order = [...touched.values()].sort((a, b) => (a.resource < b.resource ? -1 : a.resource > b.resource ? 1 : a.space < b.space ? -1 : a.space > b.space ? 1 : 0));
    for (const k of order) this.walk(keyOf(k));
  }

  /** The table timed out `requestId` now; returns an error message if that is wrong. */
  timeout(requestId: string): string | undefined {
    const w = this.waiters.find((x) => x.requestId === requestId);
    if (w === undefined) return `timed out ${requestId}, which does not wait`;
    if (w.deadlineMs !== this.nowMs()) return `timed out ${requestId} at ${this.nowMs()}, deadline ${w.deadlineMs}`;
    this.removeWaiter(w);
    this.walk(keyOf(w));
    return undefined;
  }

  /** A new leader rebuilt the table from reclaims: waiters (clients ask again) and revoke history are gone. */
  failover(): void {
    this.waiters = [];
    this.revokes.clear();
    this.revokedSessions.clear();
    this.direct.clear(); // a new leader knows no history: it starts caching again
    for (const g of this.grants) {
      g.grantedAtMs = this.nowMs();
      g.uncached = false;
      g.noDirect = false; // a reclaim does not say how the token was asked for
    }
  }

  /** Waiters the walk would grant now: must be none after every operation (no lost wake-ups). */
  grantableWaiters(): MWaiter[] {
    const out: MWaiter[] = [];
    for (const key of new Set(this.waiters.map(keyOf))) {
      const blocked: MWaiter[] = [];
      for (const w of this.queue(key)) {
        const b = this.grants.some((g) => conflicts(g, w)) || (!w.conversion && blocked.some((v) => conflicts(v, w)));
        if (b) blocked.push(w);
        else out.push(w);
      }
    }
    return out;
  }

  private walk(key: string): void {
    let again = true;
    while (again && this.waiters.some((w) => keyOf(w) === key)) {
      again = false;
      const blocked: MWaiter[] = [];
      for (const w of this.queue(key)) {
        const b = this.grants.some((g) => conflicts(g, w)) || (!w.conversion && blocked.some((v) => conflicts(v, w)));
        if (b) {
          blocked.push(w);
          continue;
        }
        this.removeWaiter(w);
        if (w.targetLockId !== undefined) {
          const res = this.applyConvert(this.grantByLockId(w.targetLockId) as MGrant, w);
          if (res === null) this.failures.push({ requestId: w.requestId, reason: 'DEADLOCK' });
          else if (res.freed) again = true;
          continue;
        }
        const g = this.newGrant(w);
        this.grants.push(g);
        if (w.conversion && w.space === 'range' && this.hasCycle()) {
          this.grants.pop();
          this.failures.push({ requestId: w.requestId, reason: 'DEADLOCK' });
        }
      }
    }
  }
}
