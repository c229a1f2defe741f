import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamHarness, rangeAcquire, reasonOf, settle } from './support/stream-harness';

test('a riding release after this coordinator stopped leading is dropped without a handler failure', async () => {
  const h = new StreamHarness();
  const { call } = await h.openSession();
  call.send({ requestId: 2, body: 'acquire', acquire: rangeAcquire('r') });
  const lockId = Number(((call.repliesTo(2)[0].granted as Record<string, Record<string, unknown>>).lock).lockId);
  h.leading = false;
  call.send({ requestId: 0, body: 'ack', ackSeq: 2, releaseLockIds: [lockId] });
  call.send({ requestId: 3, body: 'acquire', acquire: rangeAcquire('other'), releaseLockIds: [lockId] });
  await settle();
  assert.deepEqual(h.logged('session stream handler failed'), []);
  assert.equal(reasonOf(call.repliesTo(3)[0]), 'NOT_LEADER', 'the request on the same message is answered NOT_LEADER');
  h.leading = true;
  assert.equal(h.leader.table.getGrant(lockId)?.lockId, lockId, 'nothing was released by the deposed leader');
  call.send({ requestId: 0, body: 'ack', releaseLockIds: [lockId] });
  assert.equal(h.leader.table.getGrant(lockId), undefined, 'a riding release while leading still releases');
});
