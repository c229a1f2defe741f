import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeldGrants } from '../../src/agent/client/held-grants';
import { RequestChannel } from '../../src/agent/client/request-channel';
import type { SessionLink } from '../../src/agent/client/session-connection';
import { resumeSession, type ResumeDeps } from '../../src/agent/client/session-resume';
import { FakeClock } from '../../src/common/clock';
import { silentLogger } from '../../src/common/logger';

/**
 * A reclaim at a new leader whose stream dies after the leader took the
 * ReclaimComplete but before its answers reached the client (protocol
 * simulation, seed 1341 with a kernel-caching host): the next stream goes
 * to the same leader, which no longer asks for a reclaim. The client must
 * take the answers the leader's outbox replays and only then let that
 * leader's heartbeat acknowledgements extend its lease; before the fix it
 * never did, and a responsive host lost its session at the old deadline.
 */
type Message = Record<string, unknown>;

function harness() {
  const clock = new FakeClock();
  const channel = new RequestChannel(clock);
  channel.link = { isOpen: true, send: () => true, close: () => undefined } as unknown as SessionLink;
  const held = new HeldGrants();
  held.granted({ lockId: 7, resource: 'ns/1', space: 'data', mode: 'WRITE', range: { start: 0, end: 4096 }, owner: '', fencingToken: { epoch: 1, counter: 3 }, uncached: false, version: 1 });
  const asked: { body: Message; answer: (reply: Message) => void }[] = [];
  const lease: string[] = [];
  const opens: Message[] = [];
  let linkLost: (() => void) | undefined;
  const deps: ResumeDeps = {
    channel,
    clock,
    dial: async () => opens.shift() ?? { epoch: 2, lastRequestId: 0, reclaimRequired: false },
    session: () => ({ sessionId: 's1', resumeSecret: 'x' }),
    active: () => true,
    onLinkLost: (fn) => { linkLost = fn; },
    reclaim: {
      held,
      sessionId: () => 's1',
      request: (body) => new Promise((resolve) => asked.push({ body: body as Message, answer: resolve })),
      listener: () => undefined,
      logger: silentLogger(),
    },
    lease: { reclaiming: () => lease.push('reclaiming'), reclaimed: () => lease.push('reclaimed') },
  };
  const settle = () => new Promise((r) => setImmediate(r));
  return { clock, deps, asked, lease, opens, held, cutLink: () => linkLost?.(), settle };
}

const reclaimedLock = (lockId: number): Message => ({
  reclaimed: { lock: { lockId, resource: 'ns/1', space: 'DATA', mode: 'WRITE', range: { start: 0, end: 4096 }, fencingToken: { epoch: 2, counter: 3 }, version: 1 } },
});

test('a reclaim cut off after the leader took it waits for the replayed answers at the same leader, then lets its acknowledgements count', async () => {
  const h = harness();
  h.opens.push({ epoch: 2, lastRequestId: 0, reclaimRequired: true }, { epoch: 2, lastRequestId: 9, reclaimRequired: false });
  const outcome = resumeSession(h.deps);
  await h.settle();
  assert.deepEqual(h.asked.map((a) => Object.keys(a.body)[0]), ['reclaim']);
  h.asked[0].answer(reclaimedLock(7));
  await h.settle();
  assert.deepEqual(h.asked.map((a) => Object.keys(a.body)[0]), ['reclaim', 'reclaimComplete']);
  h.cutLink(); // the leader took ReclaimComplete; its answer is lost with the stream
  await h.settle();
  h.clock.advance(200); // the retry
  await h.settle();
  assert.deepEqual(h.lease, ['reclaiming'], 'no acknowledgement counts before the reclaim\'s answers are in');
  h.asked[1].answer({ reclaimCompleted: {} }); // replayed from the leader's outbox on the new stream
  assert.equal(await outcome, 'resumed');
  assert.deepEqual(h.lease, ['reclaiming', 'reclaimed']);
  assert.equal(h.asked.length, 2, 'nothing reclaimed twice');
});

test('a reclaim cut off before the leader finished it starts over on the next stream', async () => {
  const h = harness();
  h.opens.push({ epoch: 2, lastRequestId: 0, reclaimRequired: true }, { epoch: 2, lastRequestId: 0, reclaimRequired: true });
  const outcome = resumeSession(h.deps);
  await h.settle();
  h.cutLink();
  await h.settle();
  h.clock.advance(200);
  await h.settle();
  assert.deepEqual(h.asked.map((a) => Object.keys(a.body)[0]), ['reclaim', 'reclaim'], 'a new round');
  h.asked[1].answer(reclaimedLock(7));
  await h.settle();
  h.asked[2].answer({ reclaimCompleted: {} });
  assert.equal(await outcome, 'resumed');
  assert.deepEqual(h.lease, ['reclaiming', 'reclaiming', 'reclaimed']);
  assert.ok(h.held.has(7), 'the grant is still held');
});
