import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/common/clock';
import { CoherdError, InvalidArgumentError, NotFoundError } from '../../../src/common/errors';
import { LockTable } from '../../../src/coordinator/lock-table';
import { Grant, LockTableDump, LockTableEvent } from '../../../src/coordinator/lock-table/types';
import { ImmediateGrant, InvariantChecker } from './lock-table-invariants';
import { EOF, LockTableModel, MGrant, MHolder, Mode, Outcome, Space, conflicts, keyOf, skipsHold } from './lock-table-model';

/**
 * Drives a LockTable and the brute-force model with the same operations
 * and checks, after every step, that they agree and that the invariants of
 * DESIGN §8 hold. A failed check throws, so fast-check shrinks and prints
 * the seed and the smallest failing sequence.
 */
export const HOLDERS: MHolder[] = [
  { sessionId: 's1', owner: 'a' }, { sessionId: 's1', owner: 'b' }, { sessionId: 's2', owner: 'a' }, { sessionId: 's3', owner: '' },
];
export const SESSIONS = ['s1', 's2', 's3'];
export const RESOURCES = ['f1', 'f2'];
export const MIN_HOLD_MS = 10;
export const MAX_WAITERS_PER_SESSION = 4;
export const MAX_WAITERS_PER_RESOURCE = 3;

export type Op =
  | { t: 'acq'; h: number; r: number; space: Space; excl: boolean; s: number; len: number; wait: boolean; timeoutMs?: number; noDirect?: boolean }
  | { t: 'conv'; pick: number; excl: boolean; s: number; len: number; wait: boolean; timeoutMs?: number }
  | { t: 'rel'; pick: number }
  | { t: 'red'; pick: number; excl: boolean; s: number; len: number; stale: number }
  | { t: 'evict'; session: number }
  | { t: 'cancel'; pick: number }
  | { t: 'rs'; session: number }
  | { t: 'adv'; ms: number }
  | { t: 'epoch' }
  | { t: 'failover' }
  | { t: 'bad'; variant: number; pick: number };

const modeFor = (space: Space, exclusive: boolean): Mode => (space === 'range' ? (exclusive ? 'EXCLUSIVE' : 'SHARED') : exclusive ? 'WRITE' : 'READ');

export class Harness {
  readonly clock = new FakeClock(0);
  readonly log: { atMs: number; ev: LockTableEvent }[] = [];
  table: LockTable;
  readonly model: LockTableModel;
  private readonly invariants = new InvariantChecker();
  private nextRequest = 0;
  private epoch = 1;
  /** The model's idea of now: the time of the event being absorbed, else the clock's. */
  private eventTimeMs: number | undefined;

  constructor() {
    this.table = this.newTable();
    this.model = new LockTableModel(() => this.eventTimeMs ?? this.clock.nowMs(), MAX_WAITERS_PER_SESSION, MAX_WAITERS_PER_RESOURCE);
  }

  /** A table whose events reach the log only while it is the current one. */
  private newTable(): LockTable {
    const table: LockTable = new LockTable({
      clock: this.clock, epoch: this.epoch, onEvent: (ev) => { if (this.table === table) this.log.push({ atMs: this.clock.nowMs(), ev }); },
      revokeDeadlineMs: 600, revokeResendMs: 50, minHoldMs: MIN_HOLD_MS, maxHoldMs: 200, maxWaitersPerSession: MAX_WAITERS_PER_SESSION, maxWaitersPerResource: MAX_WAITERS_PER_RESOURCE,
    });
    return table;
  }

  /** A new leader with a larger epoch rebuilds the table from the clients' reclaims; the old one dies. */
  private failover(): void {
    const old = this.table;
    const held = old.dump().grants;
    this.epoch++;
    this.table = this.newTable();
    for (const s of SESSIONS) old.releaseSession(s); // the old leader's timers die with it
    for (const g of held) {
      const { grantedAtMs: _t, uncached: _u, ...reclaim } = g;
      assert.deepEqual(this.table.reclaim(reclaim), { ...g, grantedAtMs: this.clock.nowMs(), uncached: false });
    }
    this.model.failover();
  }

  private grantsByLockId(): MGrant[] {
    return [...this.model.grants].sort((a, b) => a.lockId - b.lockId);
  }

  private attempt(fn: () => Grant | 'queued'): Outcome & { tableGrant?: Grant } {
    try {
      const r = fn();
      return r === 'queued' ? { kind: 'queued' } : { kind: 'granted', grant: undefined as unknown as MGrant, tableGrant: r };
    } catch (e) {
      if (!(e instanceof CoherdError)) throw e;
      return { kind: 'error', reason: e.reason };
    }
  }

  private compareOutcome(got: Outcome & { tableGrant?: Grant }, want: Outcome, what: string): void {
    assert.equal(got.kind, want.kind, `${what}: table ${JSON.stringify(got)} vs model ${JSON.stringify(want)}`);
    if (got.kind === 'error' && want.kind === 'error') assert.equal(got.reason, want.reason, what);
    if (got.kind === 'granted' && want.kind === 'granted') {
      const t = got.tableGrant as Grant;
      if (want.grant.lockId === -1) want.grant.lockId = t.lockId;
      assert.equal(t.lockId, want.grant.lockId, what);
    }
  }

  step(op: Op): void {
    const pre = this.table.dump();
    const logStart = this.log.length;
    const immediate: ImmediateGrant[] = [];
    switch (op.t) {
      case 'acq': {
        const holder = HOLDERS[op.h];
        const resource = RESOURCES[op.r];
        const mode = modeFor(op.space, op.excl);
        const whole = op.space === 'attr' || op.space === 'dir';
        const start = whole ? 0 : op.s;
        const end = whole ? EOF : Math.min(16, op.s + op.len);
        const req = { requestId: `q${this.nextRequest++}`, resource, space: op.space, mode, range: { start, end }, holder, wait: op.wait, timeoutMs: op.timeoutMs, ...(op.noDirect ? { noDirect: true } : {}) };
        const got = this.attempt(() => this.table.acquire(req));
        const want = this.model.acquire({ ...req, start, end });
        this.compareOutcome(got, want, `acquire ${JSON.stringify(req)}`);
        if (got.kind === 'granted') {
          // A resource in direct mode grants DIRECT over the whole file: the queue rules apply to that shape.
          const direct = got.tableGrant?.mode === 'DIRECT' && mode !== 'DIRECT';
          const [m, s, e] = direct ? ['DIRECT' as Mode, 0, EOF] : [mode, start, end];
          const conversion = pre.grants.some((g) => g.resource === resource && g.space === op.space && g.holder.sessionId === holder.sessionId && g.holder.owner === holder.owner && g.range.start <= s && e <= g.range.end);
          immediate.push({ shape: { resource, space: op.space, mode: m, start: s, end: e, holder }, conversion });
        }
        break;
      }
      case 'conv': {
        const list = this.grantsByLockId();
        if (list.length === 0) return;
        const g = list[op.pick % list.length];
        const mode = modeFor(g.space, op.excl);
        const whole = g.space === 'attr' || g.space === 'dir';
        const range = whole ? { start: 0, end: EOF } : { start: op.s, end: Math.min(16, op.s + op.len) };
        const req = { requestId: `q${this.nextRequest++}`, lockId: g.lockId, holder: g.holder, mode, range, wait: op.wait, timeoutMs: op.timeoutMs };
        const got = this.attempt(() => this.table.convert(req));
        const want = this.model.convert({ ...req, start: req.range.start, end: req.range.end });
        this.compareOutcome(got, want, `convert ${JSON.stringify(req)}`);
        break;
      }
      case 'red': {
        // A revoke answer: mostly a real reduction of the current version; sometimes stale, from the future, or growing.
        const list = this.grantsByLockId();
        if (list.length === 0) return;
        const g = list[op.pick % list.length];
        const whole = g.space === 'attr' || g.space === 'dir';
        const start = whole ? 0 : Math.min(g.end - 1, Math.max(g.start, op.s));
        const end = whole ? EOF : Math.max(start + 1, Math.min(g.end, start + op.len));
        const mode = op.excl ? g.mode : modeFor(g.space, false);
        const version = op.stale === 3 ? g.version + 1 : g.version - op.stale;
        const grow = op.stale === 4 && !whole && g.end < 16 ? { start, end: 16 } : { start, end };
        if (version <= 0) return;
        const req = { lockId: g.lockId, holder: g.holder, version, mode, range: grow };
        const got = this.attempt(() => this.table.reduce(req));
        const want = this.model.reduce({ ...req, start: grow.start, end: grow.end });
        this.compareOutcome(got, want, `reduce ${JSON.stringify(req)}`);
        break;
      }
      case 'evict':
        this.table.dropWaiters(SESSIONS[op.session]);
        this.model.dropWaiters(SESSIONS[op.session]);
        break;
      case 'rel': {
        const list = this.grantsByLockId();
        if (list.length === 0) return;
        const g = list[op.pick % list.length];
        this.table.release(g.lockId, g.holder);
        this.model.release(g.lockId);
        break;
      }
      case 'cancel': {
        const ids = this.model.waiters.map((w) => w.requestId).sort();
        const id = ids.length === 0 ? 'nobody' : ids[op.pick % ids.length];
        assert.equal(this.table.cancel(id), this.model.cancel(id), `cancel ${id}`);
        break;
      }
      case 'rs':
        this.table.releaseSession(SESSIONS[op.session]);
        this.model.releaseSession(SESSIONS[op.session]);
        break;
      case 'adv':
        this.clock.advance(op.ms);
        break;
      case 'epoch':
        this.table.setEpoch(++this.epoch);
        break;
      case 'failover':
        this.failover();
        break;
      case 'bad':
        this.badInput(op.variant, op.pick, pre);
        return;
    }
    this.absorbEvents(logStart, op.t === 'adv');
    this.invariants.check(this.table, this.model, pre, this.log.slice(logStart).map((x) => x.ev), immediate);
  }

  /** Feeds the step's events to the model in order, checking each; timeouts drive the model. */
  private absorbEvents(logStart: number, timed: boolean): void {
    const expectedFailures = this.model.failures;
    for (let i = logStart; i < this.log.length; i++) {
      const { atMs, ev } = this.log[i];
      this.eventTimeMs = timed ? atMs : undefined;
      if (ev.kind === 'granted') {
        const g = ev.grant;
        const m = this.model.grants.find((x) => x.lockId === g.lockId) ?? this.model.grants.find((x) => x.lockId === -1 && x.requestId === g.requestId);
        assert.ok(m, `granted event for ${g.requestId} the model did not grant`);
        m.lockId = g.lockId;
        // The table judged `uncached` when it granted, after the revokes it sent earlier in this same step;
        // the model learns of those revokes from the events, so it judges again at this point of the log.
        if (m.grantedAtMs === atMs) m.uncached = this.model.uncached(keyOf(m), m.space);
      } else if (ev.kind === 'failed' && ev.reason === 'TIMEOUT') {
        assert.ok(timed, 'TIMEOUT outside a clock advance');
        const err = this.model.timeout(ev.requestId);
        assert.equal(err, undefined, err);
      } else if (ev.kind === 'failed') {
        const want = expectedFailures.shift();
        assert.deepEqual({ requestId: ev.requestId, reason: ev.reason }, want, 'failed event differs from the model');
      } else {
        const g = this.model.grantByLockId(ev.lockId);
        assert.ok(g, `${ev.kind} for lock ${ev.lockId} that is not granted`);
        const blocked = this.model.queue(keyOf(g)).filter((w) => conflicts(g, w));
        assert.ok(blocked.length > 0, `${ev.kind} for lock ${ev.lockId} that blocks no waiter`);
        if (ev.kind === 'revoke') {
          assert.notEqual(g.space, 'range', 'range locks are never revoked');
          assert.equal(ev.version, g.version, 'a revoke names the lock\'s current version');
          assert.deepEqual({ range: ev.range, mode: ev.wantedMode }, { range: { start: blocked[0].start, end: blocked[0].end }, mode: blocked[0].mode });
          if (ev.attempt === 1) {
            // The minimum hold does not delay the revokes of skipsHold's pairs (docs/direct-mode.md).
            if (!skipsHold(g, blocked[0])) assert.ok(atMs >= g.grantedAtMs + MIN_HOLD_MS, `revoke at ${atMs} before the minimum hold of a grant made at ${g.grantedAtMs}`);
            this.model.recordRevoke(keyOf(g), atMs, g.holder.sessionId, g.resource, g.space, blocked[0].holder.sessionId);
          }
        }
      }
    }
    this.eventTimeMs = undefined;
    assert.deepEqual(expectedFailures, [], 'the model expected failures the table did not report');
    if (timed) {
      const late = this.model.waiters.filter((w) => w.deadlineMs !== undefined && w.deadlineMs <= this.clock.nowMs());
      assert.deepEqual(late.map((w) => w.requestId), [], 'waiters past their timeout still wait');
    }
  }

  /** Bad input throws the right error and changes nothing. */
  private badInput(variant: number, pick: number, pre: LockTableDump): void {
    const logStart = this.log.length;
    const holder = HOLDERS[pick % HOLDERS.length];
    const base = { requestId: `q${this.nextRequest++}`, resource: 'f1', space: 'data' as Space, mode: 'READ' as Mode, range: { start: 0, end: 4 }, holder, wait: true };
    const grants = this.grantsByLockId();
    const g = grants.length > 0 ? grants[pick % grants.length] : undefined;
    const cases: [() => unknown, new (...a: never[]) => Error, string][] = [
      [() => this.table.acquire({ ...base, range: { start: -1, end: 4 } }), InvalidArgumentError, 'INVALID_RANGE'],
      [() => this.table.acquire({ ...base, range: { start: 4, end: 4 } }), InvalidArgumentError, 'INVALID_RANGE'],
      [() => this.table.acquire({ ...base, space: 'range', mode: 'READ' }), InvalidArgumentError, 'INVALID_MODE'],
      [() => this.table.acquire({ ...base, mode: 'SHARED' }), InvalidArgumentError, 'INVALID_MODE'],
      [() => this.table.acquire({ ...base, space: 'bogus' as Space }), InvalidArgumentError, 'INVALID_ARGUMENT'],
      [() => this.table.acquire({ ...base, timeoutMs: -5 }), InvalidArgumentError, 'INVALID_ARGUMENT'],
      [() => this.table.release(999999, holder), NotFoundError, 'LOCK_NOT_FOUND'],
      [() => this.table.acquire({ ...base, range: { start: 0, end: 2 ** 70 } }), InvalidArgumentError, 'INVALID_RANGE'],
    ];
    if (g !== undefined) {
      const stranger = HOLDERS.find((h) => h.sessionId !== g.holder.sessionId || h.owner !== g.holder.owner) as MHolder;
      const conv = { requestId: base.requestId, lockId: g.lockId, holder: g.holder, mode: g.mode, range: { start: 0, end: 4 }, wait: true };
      cases.push(
        [() => this.table.convert({ ...conv, holder: stranger }), NotFoundError, 'LOCK_NOT_FOUND'],
        g.space === 'data' || g.space === 'range'
          ? [() => this.table.convert({ ...conv, range: { start: 3, end: 1 } }), InvalidArgumentError, 'INVALID_RANGE']
          : [() => this.table.convert({ ...conv, mode: 'EXCLUSIVE' }), InvalidArgumentError, 'INVALID_MODE'],
        [() => this.table.release(g.lockId, stranger), NotFoundError, 'LOCK_NOT_FOUND'],
      );
    }
    const [fn, cls, reason] = cases[variant % cases.length];
    assert.throws(fn, (e: unknown) => e instanceof cls && (e as CoherdError).reason === reason);
    assert.deepEqual(this.table.dump(), pre, 'bad input changed the table');
    assert.equal(this.log.length, logStart, 'bad input emitted events');
  }

  /** Releases locks one at a time until nothing is left: every waiter must get its turn. */
  drain(): void {
    const pending = new Set(this.model.waiters.map((w) => w.requestId));
    for (let guard = 0; this.model.grants.length > 0; guard++) {
      assert.ok(guard < 10_000, 'drain does not terminate');
      const list = this.grantsByLockId();
      const g = list.find((x) => this.model.pendingConvert(x.lockId) === undefined) ?? list[0];
      const logStart = this.log.length;
      this.step({ t: 'rel', pick: list.indexOf(g) });
      for (const { ev } of this.log.slice(logStart)) {
        if (ev.kind === 'granted') pending.delete(ev.grant.requestId);
        if (ev.kind === 'failed') pending.delete(ev.requestId);
      }
    }
    assert.deepEqual([...pending], [], 'waiters lost: never granted nor failed');
    assert.deepEqual(this.table.stats(), { grants: 0, waiters: 0, resources: 0 });
    assert.equal(this.clock.pendingTimers(), 0, 'timers left behind');
  }
}
