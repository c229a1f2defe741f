import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Holder } from '../../src/coordinator/lock-table/types';
import { A, B, setup } from './support/lock-table-fixture';

const session = (name: string, owner = ''): Holder => ({ sessionId: name, owner });
const big = { maxWaitersPerSession: 20_000, maxWaitersPerResource: 20_000 };

test('five sessions that queue 1,000 waiters each, one after another, behind a lock are all queued and granted in queue order', () => {
  const { table, req, grant, of } = setup(big);
  const held = grant(req(A, 'range', 'EXCLUSIVE', 0, 100));
  const firsts: string[] = [];
  for (let s = 0; s < 5; s++) {
    for (let i = 0; i < 1000; i++) {
      const r = req(session(`s${s}`), 'range', 'EXCLUSIVE', 0, 100);
      if (i === 0) firsts.push(r.requestId);
      assert.equal(table.acquire(r), 'queued', `session s${s} request ${i}`);
    }
  }
  assert.deepEqual(of('failed'), []);
  table.release(held.lockId, A);
  assert.equal(of('granted')[0].grant.requestId, firsts[0]);
});

test('a session waited for elsewhere queues 1,000 identical requests without a refusal, and a cycle through them is still DEADLOCK', () => {
  const { table, req, grant, of } = setup(big);
  const Y = session('y');
  grant(req(A, 'range', 'EXCLUSIVE', 0, 100));
  grant(req(Y, 'range', 'EXCLUSIVE', 0, 100, { resource: 'ns/43' }));
  assert.equal(table.acquire(req(B, 'range', 'EXCLUSIVE', 0, 100, { resource: 'ns/43' })), 'queued');
  for (let i = 0; i < 1000; i++) assert.equal(table.acquire(req(Y, 'range', 'EXCLUSIVE', 0, 100)), 'queued', `request ${i}`);
  assert.deepEqual(of('failed'), []);
  // A waiting for Y's lock would close A → Y (ns/43) → A (ns/42).
  assert.throws(() => table.acquire(req(A, 'range', 'EXCLUSIVE', 0, 100, { resource: 'ns/43' })), (e: { reason?: string }) => e.reason === 'DEADLOCK');
});

test('a request whose deadlock check would look at more than its budget is refused with WAIT_GRAPH_TOO_LARGE and changes nothing', () => {
  const { table, req, grant } = setup(big);
  const X = session('x');
  grant(req(A, 'range', 'EXCLUSIVE', 0, 1000));
  // 300 holders, each waiting with its own range: each waits for every one queued before it.
  for (let i = 0; i < 300; i++) assert.equal(table.acquire(req(session(`h${i}`), 'range', 'EXCLUSIVE', i, 1000)), 'queued');
  grant(req(X, 'range', 'EXCLUSIVE', 0, 100, { resource: 'ns/43' }));
  assert.equal(table.acquire(req(B, 'range', 'EXCLUSIVE', 0, 100, { resource: 'ns/43' })), 'queued');
  const before = table.stats();
  assert.throws(() => table.acquire(req(X, 'range', 'EXCLUSIVE', 500, 1000)), (e: { reason?: string; code?: string }) => e.reason === 'WAIT_GRAPH_TOO_LARGE');
  assert.deepEqual(table.stats(), before, 'the refused waiter is gone again');
  assert.equal(table.acquire(req(session('other'), 'range', 'EXCLUSIVE', 0, 10, { resource: 'ns/44' })) !== 'queued', true, 'other resources are unaffected');
});
