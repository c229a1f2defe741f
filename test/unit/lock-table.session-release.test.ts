import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Holder } from '../../src/coordinator/lock-table/types';
import { A, B, setup } from './support/lock-table-fixture';
import { steppedSlicer } from './support/stepped-slicer';

const N = 10_000;
const ending: Holder = { sessionId: 'ending', owner: '' };
const quotas = { maxWaitersPerSession: 20_000, maxWaitersPerResource: 20_000 };

test('a session with 10,000 waiters ending is freed in slices; then the waiter behind them is granted when the lock goes', () => {
  const { slicer, drain } = steppedSlicer(200);
  const { table, req, grant, of } = setup({ ...quotas, slicer });
  const held = grant(req(A, 'range', 'EXCLUSIVE', 0, 100));
  for (let i = 0; i < N; i++) assert.equal(table.acquire(req(ending, 'range', 'EXCLUSIVE', 0, 100)), 'queued');
  assert.equal(table.acquire(req(B, 'range', 'EXCLUSIVE', 0, 100)), 'queued');
  table.releaseSession(ending.sessionId);
  const afterFirstSlice = table.stats().waiters;
  assert.ok(afterFirstSlice > 1 && afterFirstSlice < N, `first slice left ${afterFirstSlice} waiters`);
  assert.ok(drain() >= 10, 'freed over many slices');
  assert.deepEqual(table.stats(), { grants: 1, waiters: 1, resources: 1 });
  assert.deepEqual(of('failed'), [], 'no event for a dead session');
  table.release(held.lockId, A);
  assert.deepEqual(of('granted').map((e) => e.grant.holder.sessionId), [B.sessionId]);
});

test('a lock released while a session is being freed goes to the next live waiter, never to that session', () => {
  const { slicer, drain } = steppedSlicer(200);
  const { table, req, grant, of } = setup({ ...quotas, slicer });
  const held = grant(req(A, 'range', 'EXCLUSIVE', 0, 100));
  for (let i = 0; i < N; i++) table.acquire(req(ending, 'range', 'EXCLUSIVE', 0, 100));
  table.acquire(req(B, 'range', 'EXCLUSIVE', 0, 100));
  table.releaseSession(ending.sessionId);
  table.release(held.lockId, A);
  drain();
  assert.deepEqual(of('granted').map((e) => e.grant.holder.sessionId), [B.sessionId]);
  assert.deepEqual(table.grantsOf(ending.sessionId), []);
  assert.equal(table.stats().waiters, 0);
});

test('a session being freed may not queue or take anything more', () => {
  const { slicer, drain } = steppedSlicer(200);
  const { table, req, grant } = setup({ ...quotas, slicer });
  grant(req(A, 'range', 'EXCLUSIVE', 0, 100));
  for (let i = 0; i < N; i++) table.acquire(req(ending, 'range', 'EXCLUSIVE', 0, 100));
  table.releaseSession(ending.sessionId);
  assert.throws(() => table.acquire({ ...req(ending, 'range', 'EXCLUSIVE', 500, 600), resource: 'ns/other' }), { reason: 'SESSION_CLOSING' });
  drain();
  assert.deepEqual(table.grantsOf(ending.sessionId), []);
});

test('dropWaiters then releaseSession while the first is under way frees the grants too', () => {
  const { slicer, drain } = steppedSlicer(200);
  const { table, req, grant } = setup({ ...quotas, slicer });
  grant(req(A, 'range', 'EXCLUSIVE', 0, 100));
  grant({ ...req(ending, 'range', 'EXCLUSIVE', 0, 100), resource: 'ns/own' });
  for (let i = 0; i < N; i++) table.acquire(req(ending, 'range', 'EXCLUSIVE', 0, 100));
  table.dropWaiters(ending.sessionId);
  table.releaseSession(ending.sessionId);
  drain();
  assert.deepEqual(table.grantsOf(ending.sessionId), []);
  assert.deepEqual(table.stats(), { grants: 1, waiters: 0, resources: 1 });
});

test('freed at once without a slicer, as the property model expects', () => {
  const { table, req, grant } = setup(quotas);
  grant(req(A, 'range', 'EXCLUSIVE', 0, 100));
  for (let i = 0; i < 100; i++) table.acquire(req(ending, 'range', 'EXCLUSIVE', 0, 100));
  table.releaseSession(ending.sessionId);
  assert.equal(table.stats().waiters, 0);
});
