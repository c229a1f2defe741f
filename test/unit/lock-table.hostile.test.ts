import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Grant, Holder } from '../../src/coordinator/lock-table/types';
import { A, B, setup } from './support/lock-table-fixture';

const N = 10_000;
const hostile = (owner = ''): Holder => ({ sessionId: 'hostile', owner });

test('10,000 waiters of one holder behind another session\'s lock queue without deadlock errors, then all time out together', () => {
  const { table, req, grant, of, clock } = setup({ maxWaitersPerSession: 20_000, maxWaitersPerResource: 20_000 });
  const held = grant(req(A, 'range', 'EXCLUSIVE', 0, 100));
  for (let i = 0; i < N; i++) assert.equal(table.acquire(req(hostile(), 'range', 'EXCLUSIVE', 0, 100, { timeoutMs: 4000 })), 'queued');
  // a well-behaved waiter queued behind them
  assert.equal(table.acquire(req(B, 'range', 'EXCLUSIVE', 0, 100)), 'queued');
  assert.deepEqual(table.stats(), { grants: 1, waiters: N + 1, resources: 1 });
  clock.advance(4000);
  assert.equal(of('failed').filter((e) => e.reason === 'TIMEOUT').length, N);
  assert.deepEqual(of('granted'), [], 'A still holds: nobody is granted');
  assert.deepEqual(table.stats(), { grants: 1, waiters: 1, resources: 1 });
  table.release(held.lockId, A);
  assert.equal(of('granted').length, 1);
  assert.equal(of('granted')[0].grant.holder.sessionId, B.sessionId);
});

test('10,000 waiters of many owners time out together; the first waiter behind them is granted when the lock goes', () => {
  const { table, req, grant, of, clock } = setup({ maxWaitersPerSession: 20_000, maxWaitersPerResource: 20_000 });
  const held = grant(req(A, 'range', 'EXCLUSIVE', 0, 100));
  for (let i = 0; i < N; i++) assert.equal(table.acquire(req(hostile(`o${i}`), 'range', i % 2 ? 'SHARED' : 'EXCLUSIVE', i % 50, 100, { timeoutMs: 4000 })), 'queued');
  assert.equal(table.acquire(req(B, 'range', 'SHARED', 0, 10)), 'queued');
  clock.advance(4000);
  assert.equal(of('failed').length, N);
  table.release(held.lockId, A);
  assert.deepEqual(of('granted').map((e) => e.grant.holder), [B]);
});

test('10,000 waiters cancelled one by one leave the queue empty and grant the one waiter they blocked', () => {
  const { table, req, grant, of } = setup({ maxWaitersPerSession: 20_000, maxWaitersPerResource: 20_000 });
  const held = grant(req(A, 'range', 'EXCLUSIVE', 0, 100));
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    const r = req(hostile(`o${i}`), 'range', 'EXCLUSIVE', 0, 100);
    ids.push(r.requestId);
    assert.equal(table.acquire(r), 'queued');
  }
  assert.equal(table.acquire(req(B, 'range', 'EXCLUSIVE', 0, 100)), 'queued');
  table.release(held.lockId, A);
  // the first hostile waiter got the lock; cancel the rest, then release it: B is next
  const first = of('granted')[0].grant;
  assert.equal(first.requestId, ids[0]);
  for (const id of ids.slice(1)) assert.equal(table.cancel(id), true);
  assert.deepEqual(of('granted').length, 1);
  table.release(first.lockId, first.holder);
  assert.deepEqual(of('granted').map((e) => e.grant.holder), [first.holder, B]);
  assert.deepEqual(table.stats(), { grants: 1, waiters: 0, resources: 1 });
});

test('a waiter blocked only by a timed-out waiter is granted even when a lock of its own holder covers the range', () => {
  const { table, req, grant, of, clock } = setup();
  const g = grant(req(A, 'data', 'WRITE', 0, 100));
  assert.equal(table.acquire(req(B, 'data', 'READ', 0, 100, { timeoutMs: 50 })), 'queued');
  const revoke = of('revoke')[0] ?? (clock.advance(20), of('revoke')[0]);
  assert.ok(revoke, 'A is asked to give the token back');
  // A keeps [0, 100) only, then asks for more: it waits behind B's reader, not behind its own lock
  table.reduce({ lockId: g.lockId, holder: A, version: revoke.version, mode: 'WRITE', range: { start: 0, end: 100 } });
  assert.equal(table.acquire(req(A, 'data', 'WRITE', 50, 150)), 'queued');
  clock.advance(50);
  const granted = of('granted').map((e) => e.grant as Grant);
  assert.equal(granted.length, 1, 'B\'s timeout freed A\'s request');
  assert.equal(granted[0].holder.sessionId, A.sessionId);
});
