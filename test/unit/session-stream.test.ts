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

test('acquires after close on the same stream are refused with SESSION_CLOSING and nothing is granted', async () => {
  const h = new StreamHarness();
  // etcd answers the close only later: the session is still live meanwhile
  h.directory.evict = () => new Promise<void>(() => undefined);
  const { call, session } = await h.openSession();
  call.send({ requestId: 2, body: 'close', close: {} });
  call.send({ requestId: 3, body: 'acquire', acquire: rangeAcquire('after-close') });
  call.send({ requestId: 4, body: 'acquire', acquire: rangeAcquire('after-close-2', { wait: false }) });
  assert.ok(call.repliesTo(2)[0].closed !== undefined);
  assert.equal(reasonOf(call.repliesTo(3)[0]), 'SESSION_CLOSING');
  assert.equal(reasonOf(call.repliesTo(4)[0]), 'SESSION_CLOSING');
  assert.deepEqual(h.leader.table.grantsOf(session.id), []);
  assert.equal(h.leader.table.stats().grants, 0);
});

test('a stream that never sends open or resume is finished after the first-message bound', async () => {
  const h = new StreamHarness();
  const { call } = h.connect();
  h.clock.advance(9_999);
  assert.equal(call.finished, false);
  h.clock.advance(1);
  assert.equal(call.errors.length, 1);
  assert.match(String(call.errors[0].details), /^STREAM_IDLE/);
});

test('an idle session stream is finished at its bound; one that keeps sending is not', async () => {
  const h = new StreamHarness();
  const idle = await h.openSession('idle');
  const busy = await h.openSession('busy');
  for (let i = 0; i < 10; i++) {
    h.clock.advance(10_000);
    busy.call.send({ requestId: 0, body: 'ack', ackSeq: 1 });
  }
  assert.equal(idle.call.errors.length, 1, 'idle past 60 s');
  assert.match(String(idle.call.errors[0].details), /^STREAM_IDLE/);
  assert.equal(busy.call.finished, false);
  assert.equal(idle.session.connected, false, 'the session is detached; it may resume');
  assert.ok(h.directory.get(idle.session.id), 'the session itself lives on until its lease');
});

test('a half-closed stream is finished by the server after the grace period, replies in flight still sent', async () => {
  const h = new StreamHarness();
  const holder = await h.openSession('holder');
  const { call, session } = await h.openSession('waiter');
  holder.call.send({ requestId: 2, body: 'acquire', acquire: rangeAcquire('r') });
  call.send({ requestId: 2, body: 'acquire', acquire: rangeAcquire('r') });
  call.emit('end');
  const lockId = Number(((holder.call.repliesTo(2)[0].granted as Record<string, Record<string, unknown>>).lock).lockId);
  holder.call.send({ requestId: 3, body: 'release', release: { lockId } });
  assert.ok(call.repliesTo(2).some((m) => m.granted !== undefined), 'the grant went out during the grace period');
  assert.equal(call.ended, false);
  h.clock.advance(1000);
  assert.equal(call.ended, true);
  assert.equal(session.connected, false);
});

test('a resumed stream never first receives the older, unacknowledged SessionOpened; newer messages are replayed', async () => {
  const h = new StreamHarness();
  const { call, session } = await h.openSession('c');
  call.send({ requestId: 2, body: 'acquire', acquire: rangeAcquire('r') });
  call.emit('cancelled');
  const again = h.connect();
  // resumes having acked nothing: neither the open reply (seq 1) nor the grant (seq 2)
  again.call.send({ requestId: 3, body: 'resume', resume: { sessionId: session.id, resumeSecret: session.resumeSecret }, ackSeq: 0 });
  await settle();
  const bodies = again.call.written.map((m) => (m.opened ? 'opened' : m.granted ? 'granted' : 'other') + `@${String(m.seq)}`);
  assert.deepEqual(bodies, ['granted@2', 'opened@3']);
  assert.equal(((again.call.written[1].opened as Record<string, unknown>).resumed), true);
  // and a third stream that acked the grant gets only its own SessionOpened
  again.call.emit('cancelled');
  const third = h.connect();
  third.call.send({ requestId: 4, body: 'resume', resume: { sessionId: session.id, resumeSecret: session.resumeSecret }, ackSeq: 2 });
  await settle();
  assert.deepEqual(third.call.written.map((m) => Boolean(m.opened)), [true]);
  assert.equal(third.call.written[0].seq, 4);
});

test('acquires beyond a session\'s rate get RATE_LIMITED (retryable); nothing changes and other sessions are unaffected', async () => {
  const h = new StreamHarness({ rate: { requestsPerSecond: 10, requestBurst: 5 } });
  const hostile = await h.openSession('hostile');
  const polite = await h.openSession('polite');
  for (let i = 0; i < 8; i++) hostile.call.send({ requestId: 2 + i, body: 'acquire', acquire: rangeAcquire(`r${i}`) });
  const outcomes = Array.from({ length: 8 }, (_, i) => hostile.call.repliesTo(2 + i)[0]);
  assert.deepEqual(outcomes.map((m) => (m.granted ? 'granted' : reasonOf(m))), ['granted', 'granted', 'granted', 'granted', 'granted', 'RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
  assert.equal((outcomes[5].error as Record<string, unknown>).retryable, true);
  assert.equal((outcomes[5].error as Record<string, unknown>).code, 'RESOURCE_EXHAUSTED');
  assert.equal(h.leader.table.grantsOf(hostile.session.id).length, 5, 'refused requests changed nothing');
  // heartbeats and releases are never limited; another session has its own bucket
  hostile.call.send({ requestId: 20, body: 'heartbeat', heartbeat: {} });
  const lockId = Number(((outcomes[0].granted as Record<string, Record<string, unknown>>).lock).lockId);
  hostile.call.send({ requestId: 21, body: 'release', release: { lockId } });
  assert.ok(hostile.call.repliesTo(21)[0].released !== undefined);
  polite.call.send({ requestId: 2, body: 'acquire', acquire: rangeAcquire('p') });
  assert.ok(polite.call.repliesTo(2)[0].granted !== undefined);
  // the bucket refills with time: 100 ms at 10/s is one request
  h.clock.advance(100);
  hostile.call.send({ requestId: 22, body: 'acquire', acquire: rangeAcquire('later') });
  hostile.call.send({ requestId: 23, body: 'acquire', acquire: rangeAcquire('later-2') });
  assert.ok(hostile.call.repliesTo(22)[0].granted !== undefined);
  assert.equal(reasonOf(hostile.call.repliesTo(23)[0]), 'RATE_LIMITED');
});

test('a reclaim that reaches a coordinator after it stopped leading is answered NOT_LEADER (retry at the next leader), not refused', async () => {
  const h = new StreamHarness();
  const { call } = await h.openSession();
  h.leading = false;
  const lock = { lockId: 7, resource: 'r', space: 'RANGE_LOCK', mode: 'EXCLUSIVE', range: { start: 0, end: 100 }, owner: '', version: 1, fencingToken: { epoch: 1, counter: 3 } };
  call.send({ requestId: 2, body: 'reclaim', reclaim: { lock } });
  await settle();
  assert.equal(reasonOf(call.repliesTo(2)[0]), 'NOT_LEADER', 'a refusal (PROTOCOL_VIOLATION) would make the client drop a grant the next leader takes back');
});
