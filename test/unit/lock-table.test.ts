import { test } from 'node:test';
import assert from 'node:assert/strict';
import { END_OF_FILE, WHOLE_FILE } from '../../src/common/byte-range';
import { FakeClock } from '../../src/common/clock';
import { InvalidArgumentError, LockConflictError, NotFoundError, ResourceExhaustedError } from '../../src/common/errors';
import { LockTable } from '../../src/coordinator/lock-table';
import { AcquireRequest, Grant, Holder, LockSpace } from '../../src/coordinator/lock-table/types';
import { A, B, C, setup } from './support/lock-table-fixture';

test('grants a READ token at once and expands it to the whole file when nobody else holds the file', () => {
  const { table, req, grant, events } = setup();
  const g = grant(req(A, 'data', 'READ', 4096, 8192));
  assert.deepEqual(g.range, { start: 0, end: END_OF_FILE });
  assert.deepEqual(g.fencingToken, { epoch: 7, counter: 1 });
  assert.equal(g.uncached, false);
  assert.deepEqual(events, [], 'immediate grants are returned, not emitted');
  assert.deepEqual(table.stats(), { grants: 1, waiters: 0, resources: 1 });
});

test('expands a WRITE token only up to the neighbouring tokens of other hosts', () => {
  const { req, grant, table } = setup();
  const a = grant(req(A, 'data', 'WRITE', 100, 200));
  table.release(a.lockId, A);
  grant(req(A, 'data', 'READ', 0, 10)); // expands to the whole file...
  const [lock] = table.grantsOf(A.sessionId);
  table.convert({ requestId: 'shrink', lockId: lock.lockId, holder: A, mode: 'READ', range: { start: 0, end: 10 }, wait: false });
  const c = grant(req(C, 'data', 'WRITE', 1000, 1010));
  assert.deepEqual(c.range, { start: 10, end: END_OF_FILE });
  table.convert({ requestId: 'shrink-c', lockId: c.lockId, holder: C, mode: 'WRITE', range: { start: 1000, end: 1010 }, wait: false });
  const g = grant(req(B, 'data', 'WRITE', 500, 600));
  assert.deepEqual(g.range, { start: 10, end: 1000 });
});

test('detects a deadlock across two owners of one session and refuses the request that would close the cycle', () => {
  const { table, req, grant, events } = setup();
  const pid1: Holder = { sessionId: 'host-a', owner: 'pid-1' };
  const pid2: Holder = { sessionId: 'host-a', owner: 'pid-2' };
  grant({ ...req(pid1, 'range', 'EXCLUSIVE', 0, 10), resource: 'ns/1' });
  grant({ ...req(pid2, 'range', 'EXCLUSIVE', 0, 10), resource: 'ns/2' });
  assert.equal(table.acquire({ ...req(pid1, 'range', 'EXCLUSIVE', 5, 6), resource: 'ns/2' }), 'queued');
  const before = table.dump();
  assert.throws(() => table.acquire({ ...req(pid2, 'range', 'SHARED', 0, 1), resource: 'ns/1' }),
    (e: unknown) => e instanceof LockConflictError && e.reason === 'DEADLOCK');
  assert.deepEqual(table.dump(), before, 'the refused request is not queued');
  assert.deepEqual(events, []);
});

test('detects a deadlock that goes through an earlier waiter', () => {
  const { table, req, grant } = setup();
  const [p, q, r] = [{ sessionId: 's1', owner: 'p' }, { sessionId: 's2', owner: 'q' }, { sessionId: 's3', owner: 'r' }];
  grant({ ...req(p, 'range', 'EXCLUSIVE', 0, 10), resource: 'f' });
  grant({ ...req(r, 'range', 'EXCLUSIVE', 0, 10), resource: 'g' });
  assert.equal(table.acquire({ ...req(q, 'range', 'EXCLUSIVE', 0, 10), resource: 'f' }), 'queued'); // q waits for p
  assert.equal(table.acquire({ ...req(r, 'range', 'SHARED', 0, 10), resource: 'f' }), 'queued'); // r waits for p and q
  assert.throws(() => table.acquire({ ...req(q, 'range', 'SHARED', 0, 1), resource: 'g' }), // q → r → q
    (e: unknown) => e instanceof LockConflictError && e.reason === 'DEADLOCK');
});

test('a try-lock that conflicts throws LOCK_CONFLICT and changes nothing', () => {
  const { table, req, grant, events, clock } = setup();
  grant(req(A, 'range', 'SHARED', 0, 100));
  const before = table.dump();
  assert.throws(() => table.acquire(req(B, 'range', 'EXCLUSIVE', 50, 60, { wait: false })),
    (e: unknown) => e instanceof LockConflictError && e.reason === 'LOCK_CONFLICT');
  assert.deepEqual(table.dump(), before);
  assert.deepEqual(events, []);
  assert.equal(clock.pendingTimers(), 0);
});

test('a waiter times out on the fake clock, and the waiter it was blocking gets the lock', () => {
  const { table, req, grant, of, clock } = setup();
  grant(req(A, 'range', 'SHARED', 0, 10));
  assert.equal(table.acquire(req(B, 'range', 'EXCLUSIVE', 0, 10, { timeoutMs: 250 })), 'queued');
  assert.equal(table.acquire(req(C, 'range', 'SHARED', 0, 10)), 'queued', 'FIFO: C may not pass the waiting B');
  clock.advance(249);
  assert.deepEqual(of('failed'), []);
  clock.advance(1);
  assert.deepEqual(of('failed').map((e) => [e.requestId, e.reason]), [['r1', 'TIMEOUT']]);
  assert.deepEqual(of('granted').map((e) => e.grant.requestId), ['r2']);
  assert.equal(clock.pendingTimers(), 0);
});

test('rejects bad input with InvalidArgumentError and leaves the table unchanged', () => {
  const { table, req, grant, events, clock } = setup();
  const held = grant(req(A, 'range', 'EXCLUSIVE', 0, 10));
  table.acquire(req(B, 'range', 'SHARED', 0, 10));
  const before = table.dump();
  const bad: [() => unknown, string][] = [
    [() => table.acquire(req(C, 'data', 'READ', -1, 10)), 'INVALID_RANGE'],
    [() => table.acquire(req(C, 'data', 'READ', 10, 10)), 'INVALID_RANGE'],
    [() => table.acquire(req(C, 'data', 'READ', 10, 5)), 'INVALID_RANGE'],
    [() => table.acquire(req(C, 'data', 'READ', 0, 1.5)), 'INVALID_RANGE'],
    [() => table.acquire(req(C, 'data', 'READ', 0, 2 ** 64)), 'INVALID_RANGE'],
    [() => table.acquire(req(C, 'range', 'READ', 0, 10)), 'INVALID_MODE'],
    [() => table.acquire(req(C, 'data', 'EXCLUSIVE', 0, 10)), 'INVALID_MODE'],
    [() => table.acquire(req(C, 'dir', 'SHARED', 0, 10)), 'INVALID_MODE'],
    [() => table.acquire(req(C, 'files' as LockSpace, 'READ', 0, 10)), 'INVALID_ARGUMENT'],
    [() => table.acquire(req(C, 'data', 'READ', 0, 10, { timeoutMs: Number.NaN })), 'INVALID_ARGUMENT'],
    [() => table.acquire(req(C, 'data', 'READ', 0, 10, { requestId: '' })), 'INVALID_ARGUMENT'],
    [() => table.acquire(req(C, 'data', 'READ', 0, 10, { requestId: 'r1' })), 'INVALID_ARGUMENT'], // r1 is waiting
    [() => table.acquire({ ...req(C, 'data', 'READ', 0, 10), holder: null as unknown as Holder }), 'INVALID_ARGUMENT'],
    [() => table.acquire(null as unknown as AcquireRequest), 'INVALID_ARGUMENT'],
    [() => table.convert({ requestId: 'c', lockId: held.lockId, holder: A, mode: 'WRITE', range: { start: 0, end: 10 }, wait: true }), 'INVALID_MODE'],
    [() => table.convert({ requestId: 'c', lockId: held.lockId, holder: A, mode: 'SHARED', range: { start: 5, end: 1 }, wait: true }), 'INVALID_RANGE'],
    [() => table.release(-3, A), 'INVALID_ARGUMENT'],
    [() => table.setEpoch(6), 'INVALID_ARGUMENT'],
  ];
  for (const [fn, reason] of bad) {
    assert.throws(fn, (e: unknown) => e instanceof InvalidArgumentError && e.reason === reason, `expected ${reason} from ${fn}`);
  }
  assert.throws(() => table.release(held.lockId, B), (e: unknown) => e instanceof NotFoundError && e.reason === 'LOCK_NOT_FOUND');
  assert.throws(() => table.convert({ requestId: 'c', lockId: 999, holder: A, mode: 'SHARED', range: { start: 0, end: 1 }, wait: true }), NotFoundError);
  assert.deepEqual(table.dump(), before);
  assert.deepEqual(table.stats(), { grants: 1, waiters: 1, resources: 1 });
  assert.deepEqual(events, []);
  assert.equal(clock.pendingTimers(), 0);
});

test('normalises attr and dir tokens to the whole file', () => {
  const { req, grant } = setup();
  assert.deepEqual(grant(req(A, 'attr', 'READ', 5, 6)).range, WHOLE_FILE);
  assert.deepEqual(grant({ ...req(A, 'dir', 'WRITE', 0, 1), range: undefined as never }).range, WHOLE_FILE);
});

test('a conversion jumps ahead of ordinary waiters, like a DLM convert queue', () => {
  const { table, req, grant, of } = setup();
  const a = grant(req(A, 'range', 'SHARED', 0, 10));
  const b = grant(req(B, 'range', 'SHARED', 0, 10));
  assert.equal(table.acquire(req(C, 'range', 'EXCLUSIVE', 0, 10)), 'queued');
  assert.equal(table.convert({ requestId: 'up', lockId: a.lockId, holder: A, mode: 'EXCLUSIVE', range: { start: 0, end: 10 }, wait: true }), 'queued');
  assert.deepEqual(table.dump().waiters.map((w) => [w.requestId, w.conversion, w.lockId]), [['up', true, a.lockId], ['r2', false, undefined]]);
  table.release(b.lockId, B);
  const [granted] = of('granted');
  assert.equal(granted.grant.lockId, a.lockId, 'the same lock, converted');
  assert.equal(granted.grant.requestId, 'up');
  assert.equal(granted.grant.mode, 'EXCLUSIVE');
  assert.ok(granted.grant.fencingToken.counter > b.fencingToken.counter, 'an upgrade gets a new fencing token');
  assert.deepEqual(table.dump().waiters.map((w) => w.requestId), ['r2']);
});

test('a downgrade keeps its fencing token and lets compatible waiters in', () => {
  const { table, req, grant, of } = setup();
  const a = grant(req(A, 'range', 'EXCLUSIVE', 0, 10));
  table.acquire(req(B, 'range', 'SHARED', 0, 5));
  table.acquire(req(C, 'range', 'SHARED', 5, 10));
  const down = table.convert({ requestId: 'down', lockId: a.lockId, holder: A, mode: 'SHARED', range: { start: 0, end: 8 }, wait: false }) as Grant;
  assert.deepEqual(down.fencingToken, a.fencingToken);
  assert.deepEqual(of('granted').map((e) => e.grant.requestId).sort(), ['r1', 'r2']);
});

test('only a request within the holder\'s own lock converts ahead of waiters; one reaching beyond it waits its turn', () => {
  const { table, req, grant } = setup();
  const small = grant(req(A, 'range', 'SHARED', 0, 10));
  grant(req(B, 'range', 'SHARED', 100, 200));
  assert.equal(table.acquire(req(C, 'range', 'EXCLUSIVE', 50, 150, { requestId: 'c-waits' })), 'queued');
  // A's large EXCLUSIVE request reaches past its 10 bytes: it must not pass C, which waits for B.
  assert.equal(table.acquire(req(A, 'range', 'EXCLUSIVE', 0, 1000, { requestId: 'a-big' })), 'queued');
  assert.deepEqual(table.dump().waiters.map((w) => [w.requestId, w.conversion]), [['c-waits', false], ['a-big', false]]);
  // Within its own lock, A converts at once: no other holder overlaps [0, 10).
  const up = table.convert({ requestId: 'a-up', lockId: small.lockId, holder: A, mode: 'EXCLUSIVE', range: { start: 0, end: 10 }, wait: true });
  assert.notEqual(up, 'queued');
});

test('a revoke answer is applied at once while the holder\'s own conversion waits, so two upgraders never wait on each other', () => {
  const { table, req, grant, of } = setup();
  const a = grant(req(A, 'data', 'READ', 0, 1000));
  const b = grant(req(B, 'data', 'READ', 0, 1000));
  const convert = (lockId: number, holder: Holder, requestId: string, start: number, end: number) =>
    table.convert({ requestId, lockId, holder, mode: 'WRITE', range: { start, end }, wait: true });
  assert.equal(convert(a.lockId, A, 'a-up', 0, 100), 'queued');
  assert.equal(convert(b.lockId, B, 'b-up', 200, 300), 'queued');
  // B answers A's revoke by keeping the part A does not need (its own conversion still waits):
  // A's conversion fits at once, and B's then fits beside it.
  table.reduce({ lockId: b.lockId, holder: B, version: b.version, mode: 'READ', range: { start: 100, end: END_OF_FILE } });
  assert.deepEqual(of('granted').map((e) => e.grant.requestId).sort(), ['a-up', 'b-up']);
  assert.deepEqual(table.getGrant(a.lockId)?.range, { start: 0, end: 100 });
  assert.deepEqual(table.getGrant(b.lockId)?.range, { start: 200, end: 300 });
  assert.deepEqual(of('failed'), []);
});

test('a revoke answer planned against an older version is refused as STALE_VERSION, changes nothing, and the revoke is sent again', () => {
  const { table, req, grant, of, clock } = setup();
  const a = grant(req(A, 'data', 'READ', 0, 100));
  assert.equal(table.acquire(req(B, 'data', 'WRITE', 0, 10)), 'queued');
  clock.advance(20);
  const first = of('revoke');
  assert.equal(first.length, 1);
  assert.equal(first[0].version, a.version);
  // A upgrades meanwhile (a conversion within its lock goes ahead of B): the lock is at a newer version.
  const up = table.convert({ requestId: 'a-up', lockId: a.lockId, holder: A, mode: 'WRITE', range: { start: 0, end: 100 }, wait: true });
  assert.notEqual(up, 'queued');
  const before = table.getGrant(a.lockId);
  assert.throws(() => table.reduce({ lockId: a.lockId, holder: A, version: a.version, mode: 'READ', range: { start: 10, end: 100 } }),
    (e: unknown) => (e as { reason?: string }).reason === 'STALE_VERSION');
  assert.deepEqual(table.getGrant(a.lockId), before, 'a stale answer changes nothing');
  clock.advance(300);
  const resent = of('revoke').filter((e) => e.version === (before as { version: number }).version);
  assert.ok(resent.length >= 1, 'the revoke is sent again with the current version');
  assert.throws(() => table.reduce({ lockId: a.lockId, holder: A, version: before!.version, mode: 'WRITE', range: { start: 0, end: 200 } }),
    (e: unknown) => (e as { reason?: string }).reason === 'PROTOCOL_VIOLATION', 'an answer may only reduce');
});

test('releasing a lock whose conversion waits fails that conversion with CANCELLED', () => {
  const { table, req, grant, of } = setup();
  const a = grant(req(A, 'range', 'SHARED', 0, 10));
  grant(req(B, 'range', 'SHARED', 0, 10));
  table.convert({ requestId: 'up', lockId: a.lockId, holder: A, mode: 'EXCLUSIVE', range: { start: 0, end: 10 }, wait: true });
  table.release(a.lockId, A);
  assert.deepEqual(of('failed').map((e) => [e.requestId, e.reason]), [['up', 'CANCELLED']]);
  assert.equal(table.stats().waiters, 0);
});

test('releaseSession frees all grants and waiters of a session and grants what became grantable', () => {
  const { table, req, grant, of, clock } = setup();
  grant(req(A, 'data', 'WRITE', 0, 10));
  grant({ ...req({ sessionId: A.sessionId, owner: 'pid-9' }, 'range', 'EXCLUSIVE', 0, 10), resource: 'other' });
  table.acquire(req(B, 'data', 'READ', 0, 10, { timeoutMs: 1000 }));
  table.acquire({ ...req(C, 'range', 'SHARED', 0, 10), resource: 'other' });
  table.acquire({ ...req(A, 'range', 'SHARED', 0, 10), resource: 'third' }); // granted: no one there
  table.releaseSession(A.sessionId);
  assert.deepEqual(table.grantsOf(A.sessionId), []);
  assert.deepEqual(of('granted').map((e) => e.grant.holder.sessionId).sort(), ['host-b', 'host-c']);
  assert.deepEqual(table.stats(), { grants: 2, waiters: 0, resources: 2 });
  assert.equal(clock.pendingTimers(), 0, 'timeout and revoke timers were cancelled');
});

test('cancel withdraws a waiter silently and lets the waiters behind it through', () => {
  const { table, req, grant, of } = setup();
  grant(req(A, 'range', 'SHARED', 0, 10));
  table.acquire(req(B, 'range', 'EXCLUSIVE', 0, 10));
  table.acquire(req(C, 'range', 'SHARED', 0, 10));
  assert.equal(table.cancel('r1'), true);
  assert.equal(table.cancel('r1'), false);
  assert.deepEqual(of('failed'), []);
  assert.deepEqual(of('granted').map((e) => e.grant.requestId), ['r2']);
});

test('refuses to queue more than maxWaitersPerSession requests of one session', () => {
  const { table, req, grant } = setup({ maxWaitersPerSession: 2 });
  grant(req(A, 'range', 'EXCLUSIVE', 0, 100));
  table.acquire(req(B, 'range', 'SHARED', 0, 1));
  table.acquire(req({ ...B, owner: 'other' }, 'range', 'SHARED', 1, 2));
  const before = table.dump();
  assert.throws(() => table.acquire(req(B, 'range', 'SHARED', 2, 3)), (e: unknown) => e instanceof ResourceExhaustedError && e.reason === 'QUEUE_FULL');
  assert.deepEqual(table.dump(), before);
  assert.equal(table.acquire(req(C, 'range', 'SHARED', 2, 3)), 'queued', 'other sessions are not affected');
});

test('fencing tokens keep increasing across a new epoch', () => {
  const { table, req, grant } = setup();
  const first = grant(req(A, 'range', 'EXCLUSIVE', 0, 10));
  table.release(first.lockId, A);
  table.setEpoch(9);
  const second = grant(req(B, 'range', 'EXCLUSIVE', 0, 10));
  assert.deepEqual(second.fencingToken, { epoch: 9, counter: 1 });
  assert.ok(second.fencingToken.epoch > first.fencingToken.epoch);
});

test('reclaim re-inserts a held lock with its lock id and token, and refuses a conflicting one', () => {
  const { table, req, grant } = setup();
  table.setEpoch(20);
  const old = { lockId: 41, requestId: 'old', resource: 'ns/42', space: 'range' as const, mode: 'EXCLUSIVE' as const, range: { start: 0, end: 10 }, holder: A, fencingToken: { epoch: 7, counter: 99 } };
  const g = table.reclaim(old);
  assert.equal(g.lockId, 41);
  assert.deepEqual(g.fencingToken, { epoch: 7, counter: 99 });
  assert.throws(() => table.reclaim({ ...old, lockId: 42, holder: B }), (e: unknown) => e instanceof LockConflictError && e.reason === 'LOCK_CONFLICT');
  assert.throws(() => table.reclaim({ ...old, lockId: 43, fencingToken: { epoch: 21, counter: 1 } }), InvalidArgumentError);
  const next = grant(req(B, 'range', 'SHARED', 20, 30));
  assert.ok(next.lockId > 41, 'new lock ids do not collide with reclaimed ones');
  assert.deepEqual(next.fencingToken, { epoch: 20, counter: 1 });
  table.reclaim({ ...old, lockId: 50, range: { start: 40, end: 50 }, fencingToken: { epoch: 20, counter: 500 } });
  assert.deepEqual(grant(req(C, 'range', 'SHARED', 60, 70)).fencingToken, { epoch: 20, counter: 501 }, 'a reclaimed token of this epoch raises the counter');
});

test('dump lists grants and waiters, filtered by resource prefix', () => {
  const { table, req, grant, clock } = setup();
  grant({ ...req(A, 'range', 'EXCLUSIVE', 0, 10), resource: 'fs1/1' });
  clock.advance(5);
  table.acquire({ ...req(B, 'range', 'SHARED', 0, 10), resource: 'fs1/1' });
  grant({ ...req(A, 'range', 'EXCLUSIVE', 0, 10), resource: 'fs2/1' });
  const d = table.dump({ resourcePrefix: 'fs1/' });
  assert.deepEqual(d.grants.map((g) => g.resource), ['fs1/1']);
  assert.deepEqual(d.waiters, [{ requestId: 'r1', resource: 'fs1/1', space: 'range', mode: 'SHARED', range: { start: 0, end: 10 }, holder: B, queuedAtMs: 5, conversion: false }]);
  assert.equal(table.dump().grants.length, 2);
});

test('a listener that calls back into the table sees a consistent table and events stay in order', () => {
  const clock = new FakeClock(0);
  const seen: string[] = [];
  const table: LockTable = new LockTable({
    clock, epoch: 1, onEvent: (e) => {
      if (e.kind !== 'granted') return;
      seen.push(e.grant.requestId);
      if (e.grant.requestId === 'b') table.release(e.grant.lockId, e.grant.holder); // hand it on at once
    },
  });
  const a = table.acquire({ requestId: 'a', resource: 'f', space: 'range', mode: 'EXCLUSIVE', range: { start: 0, end: 1 }, holder: A, wait: true }) as Grant;
  table.acquire({ requestId: 'b', resource: 'f', space: 'range', mode: 'EXCLUSIVE', range: { start: 0, end: 1 }, holder: B, wait: true });
  table.acquire({ requestId: 'c', resource: 'f', space: 'range', mode: 'EXCLUSIVE', range: { start: 0, end: 1 }, holder: C, wait: true });
  table.release(a.lockId, A);
  assert.deepEqual(seen, ['b', 'c']);
  assert.equal(table.grantsOf(C.sessionId).length, 1);
});
