import { test } from 'node:test';
import assert from 'node:assert/strict';
import { END_OF_FILE, WHOLE_FILE } from '../../src/common/byte-range';
import { A, B, C, setup } from './support/lock-table-fixture';

/** Revocation, adaptive hold, uncached mode and contention (DESIGN §3.2–3.4). */
test('revokes a READ token after the minimum hold, resends with backoff, then reports it overdue', () => {
  const { table, req, grant, of, clock } = setup();
  const a = grant(req(A, 'data', 'READ', 0, 10));
  clock.advance(3);
  assert.equal(table.acquire(req(B, 'data', 'WRITE', 4, 8)), 'queued');
  assert.deepEqual(of('revoke'), [], 'not before grantedAtMs + minHoldMs');
  const sentAt: number[] = [];
  const seen = () => { while (sentAt.length < of('revoke').length) sentAt.push(clock.nowMs()); };
  for (let t = 0; t < 5100; t++) { clock.advance(1); seen(); }
  const revokes = of('revoke');
  assert.deepEqual(revokes[0], { kind: 'revoke', lockId: a.lockId, version: 1, holder: A, resource: 'ns/42', space: 'data', range: { start: 4, end: 8 }, wantedMode: 'WRITE', attempt: 1 });
  assert.deepEqual(sentAt.slice(0, 7), [10, 110, 310, 710, 1510, 2510, 3510], 'resends 100, 200, 400, 800 ms apart, then every 1000 ms');
  assert.deepEqual(revokes.map((e) => e.attempt), revokes.map((_, i) => i + 1));
  assert.deepEqual(of('revokeOverdue'), [{ kind: 'revokeOverdue', lockId: a.lockId, holder: A, resource: 'ns/42' }]);
  table.release(a.lockId, A);
  assert.equal(of('granted').length, 1);
  const count = of('revoke').length;
  clock.advance(10_000);
  assert.equal(of('revoke').length, count, 'no revokes after the release');
  assert.equal(clock.pendingTimers(), 0, 'revoke timers stopped');
});

test('stops revoking when the waiter goes away, and never revokes range locks', () => {
  const { table, req, grant, of, clock } = setup();
  grant(req(A, 'data', 'WRITE', 0, 10));
  grant(req(A, 'range', 'EXCLUSIVE', 0, 10));
  table.acquire(req(B, 'data', 'READ', 0, 10, { requestId: 'wants-data' }));
  table.acquire(req(B, 'range', 'SHARED', 0, 10));
  clock.advance(10);
  assert.equal(of('revoke').length, 1);
  assert.equal(of('revoke')[0].space, 'data');
  assert.equal(table.cancel('wants-data'), true);
  clock.advance(10_000);
  assert.equal(of('revoke').length, 1);
  assert.equal(of('revokeOverdue').length, 0);
  assert.equal(clock.pendingTimers(), 0);
});

test('the minimum hold doubles when revokes keep hitting young grants and halves when they do not', () => {
  // Direct mode off (directAloneMs 0): this ping-pong would otherwise go direct after two revokes.
  const { table, req, grant, of, clock } = setup({ minHoldMs: 10, maxHoldMs: 40, directAloneMs: 0 });
  const revokeDelays: number[] = [];
  let holder = A;
  let lock = grant(req(holder, 'data', 'WRITE', 0, 10));
  for (let i = 0; i < 4; i++) {
    const other = holder === A ? B : A;
    table.acquire(req(other, 'data', 'WRITE', 0, 10));
    const before = of('revoke').length;
    while (of('revoke').length === before) clock.advance(1);
    revokeDelays.push(clock.nowMs() - lock.grantedAtMs);
    table.release(lock.lockId, holder);
    lock = of('granted').at(-1)!.grant;
    holder = other;
  }
  assert.deepEqual(revokeDelays, [10, 20, 40, 40], 'ping-pong: 10 → 20 → 40 (max)');
  clock.advance(1000); // an old grant: the next revoke hits a grant older than 2 × hold
  table.acquire(req(holder === A ? B : A, 'data', 'WRITE', 0, 10));
  table.release(lock.lockId, holder);
  const young = of('granted').at(-1)!.grant;
  table.acquire(req(holder, 'data', 'WRITE', 0, 10));
  const before = of('revoke').length;
  while (of('revoke').length === before) clock.advance(1);
  assert.equal(clock.nowMs() - young.grantedAtMs, 20, 'halved to 20 after the revoke of an old grant');
});

test('marks a resource uncached after 8 revokes within a second; token grants then carry uncached', () => {
  const { table, req, grant, of, clock } = setup();
  const readers = Array.from({ length: 8 }, (_, i) => ({ sessionId: `reader-${i}`, owner: '' }));
  const locks = readers.map((h) => grant(req(h, 'data', 'READ', 0, 10)));
  assert.equal(table.acquire(req(A, 'data', 'WRITE', 0, 10)), 'queued');
  clock.advance(10);
  assert.equal(new Set(of('revoke').map((e) => e.lockId)).size, 8);
  locks.forEach((l, i) => table.release(l.lockId, readers[i]));
  const w = of('granted')[0].grant;
  assert.equal(w.uncached, true);
  assert.deepEqual(w.range, { start: 0, end: 10 }, 'contended: no expansion');
  assert.equal(grant(req(B, 'attr', 'READ', 0, 1)).uncached, false, 'other spaces are counted apart');
  assert.equal(grant(req(B, 'range', 'SHARED', 100, 200)).uncached, false, 'range locks are never uncached');
  clock.advance(5000);
  table.release(w.lockId, A);
  assert.equal(grant(req(C, 'data', 'READ', 0, 10)).uncached, false, 'uncached mode ends after 5 s');
});

test('expansion stops under contention: 4 revokes within a second, or more than 32 granted entries', () => {
  const { table, req, grant, of, clock } = setup();
  const readers = Array.from({ length: 4 }, (_, i) => ({ sessionId: `reader-${i}`, owner: '' }));
  const locks = readers.map((h) => grant(req(h, 'data', 'READ', 0, 10)));
  assert.deepEqual(locks[3].range, WHOLE_FILE, 'compatible readers all expand');
  table.acquire(req(A, 'data', 'WRITE', 0, 10));
  clock.advance(10);
  assert.equal(of('revoke').length, 4);
  locks.forEach((l, i) => table.release(l.lockId, readers[i]));
  assert.deepEqual(of('granted')[0].grant.range, { start: 0, end: 10 });
  clock.advance(1000);
  table.release(of('granted')[0].grant.lockId, A);
  assert.deepEqual(grant(req(B, 'data', 'WRITE', 0, 10)).range, WHOLE_FILE, 'expands again once the revokes are a second old');

  const many = setup();
  for (let i = 0; i < 34; i++) {
    const g = many.grant(many.req({ sessionId: `s${i}`, owner: '' }, 'data', 'READ', i * 10, i * 10 + 10));
    assert.equal(g.range.end === END_OF_FILE, i < 33, `grant #${i + 1} with ${i} granted entries`);
  }
});
