import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResourceExhaustedError } from '../../src/common/errors';
import { A, B, C, setup } from './support/lock-table-fixture';

const isQuota = (e: unknown) => e instanceof ResourceExhaustedError && e.reason === 'WAITER_QUOTA';

test('a session over its per-resource waiter quota gets WAITER_QUOTA; nothing changes and others are unaffected', () => {
  const { table, req, grant, events } = setup({ maxWaitersPerResource: 3 });
  grant(req(A, 'range', 'EXCLUSIVE', 0, 100));
  for (let i = 0; i < 3; i++) assert.equal(table.acquire(req({ sessionId: 'host-b', owner: `o${i}` }, 'range', 'EXCLUSIVE', 0, 100)), 'queued');
  const before = table.dump();
  const eventsBefore = events.length;
  assert.throws(() => table.acquire(req({ sessionId: 'host-b', owner: 'o9' }, 'range', 'EXCLUSIVE', 0, 100)), isQuota);
  assert.deepEqual(table.dump(), before, 'nothing changed');
  assert.equal(events.length, eventsBefore);
  // another session on the same resource, and the same session on another resource, still queue
  assert.equal(table.acquire(req(C, 'range', 'EXCLUSIVE', 0, 100)), 'queued');
  grant(req(A, 'range', 'EXCLUSIVE', 0, 100, { resource: 'other' }));
  assert.equal(table.acquire(req(B, 'range', 'EXCLUSIVE', 0, 100, { resource: 'other' })), 'queued');
  // once one of B's waiters leaves, B may queue again there
  const waiting = table.dump().waiters.find((w) => w.holder.sessionId === 'host-b' && w.resource === 'ns/42');
  assert.ok(waiting && table.cancel(waiting.requestId));
  assert.equal(table.acquire(req({ sessionId: 'host-b', owner: 'o9' }, 'range', 'EXCLUSIVE', 0, 100)), 'queued');
});

test('a waiter that timed out frees its place under the quota', () => {
  const { table, req, grant, clock } = setup({ maxWaitersPerResource: 1 });
  grant(req(A, 'data', 'WRITE', 0, 10));
  assert.equal(table.acquire(req(B, 'data', 'READ', 0, 10, { timeoutMs: 50 })), 'queued');
  assert.throws(() => table.acquire(req(B, 'data', 'READ', 20, 30)), isQuota);
  clock.advance(50);
  assert.equal(table.acquire(req(B, 'data', 'READ', 20, 30)), 'queued');
});

test('the waiter quota is validated like every option', () => {
  assert.throws(() => setup({ maxWaitersPerResource: -1 }), /maxWaitersPerResource/);
  assert.throws(() => setup({ maxWaitersPerResource: 1.5 }), /maxWaitersPerResource/);
});
