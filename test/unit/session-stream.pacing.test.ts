import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamHarness, rangeAcquire, settle } from './support/stream-harness';
import { steppedSlicer } from './support/stepped-slicer';

function tokenAcquire(resource: string): Record<string, unknown> {
  return { resource, space: 'DATA', mode: 'WRITE', range: { start: 0, end: 100 }, owner: '', wait: true };
}

/**
 * Streams paced as in the coordinator: one slicer for the streams and the
 * leader's table, on a fake CPU clock (steppedSlicer), so a flood on one
 * stream uses up each slice and other work has to wait for later ones.
 */
test('a host that dies holding tokens while another stream floods the loop: its tokens go and the host waiting behind it is granted', async () => {
  const { slicer, drain } = steppedSlicer(5);
  const h = new StreamHarness({ slicer });
  const dead = await h.openSession('dead');
  const waiter = await h.openSession('waiter');
  const flood = await h.openSession('flood');
  const files = Array.from({ length: 20 }, (_, k) => `ns/f${k}`);
  files.forEach((f, k) => dead.call.send({ requestId: 2 + k, body: 'acquire', acquire: tokenAcquire(f) }));
  drain();
  assert.equal(h.leader.table.grantsOf(dead.session.id).length, files.length);
  waiter.call.send({ requestId: 2, body: 'acquire', acquire: tokenAcquire('ns/f7') });
  assert.ok(waiter.call.repliesTo(2).some((m) => m.queued !== undefined), 'waits for the dead host');
  for (let i = 0; i < 200; i++) flood.call.send({ requestId: 2 + i, body: 'acquire', acquire: rangeAcquire(`ns/x${i}`) });
  await h.directory.evict(dead.session.id, 'SESSION_EXPIRED');
  drain();
  await settle();
  assert.deepEqual(h.leader.table.grantsOf(dead.session.id), [], 'nothing of the dead host is left');
  assert.ok(waiter.call.repliesTo(2).some((m) => m.granted !== undefined), 'the waiting host got the token');
  assert.equal(flood.call.written.filter((m) => m.granted !== undefined).length, 200, 'every flooding request was handled');
});
