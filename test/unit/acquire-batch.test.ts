import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestChannel } from '../../src/agent/client/request-channel';
import type { SessionLink } from '../../src/agent/client/session-connection';
import { FakeClock } from '../../src/common/clock';
import { StreamHarness, rangeAcquire, reasonOf } from './support/stream-harness';

/**
 * AcquireBatch (session.proto): the acquires a client asks for in one turn
 * (a new file's attr WRITE and data WRITE) travel as one message, and the
 * coordinator answers each under its own request id, as separate acquires.
 */
type Message = Record<string, unknown>;
const granted = (m: Message | undefined) => (m?.granted as { lock: Message } | undefined)?.lock;
const tokenAcquire = (resource: string, space: string): Message => ({ resource, space, mode: 'WRITE', range: { start: 0, end: 4096 }, owner: '', wait: true });

test('the coordinator says in SessionOpened that it takes acquire batches', async () => {
  const h = new StreamHarness();
  const { call } = await h.openSession();
  assert.equal((call.written.find((m) => m.opened !== undefined)?.opened as Message).acquireBatch, true);
});

test('a batch is answered acquire by acquire under consecutive ids, and a resent copy of it is dropped', async () => {
  const h = new StreamHarness();
  const { call, session } = await h.openSession();
  const batch = { requests: [tokenAcquire('ns/7', 'ATTR'), tokenAcquire('ns/7', 'DATA'), rangeAcquire('r')] };
  call.send({ requestId: 2, body: 'acquireBatch', acquireBatch: batch });
  for (const id of [2, 3, 4]) assert.equal(call.repliesTo(id).length, 1, `one answer under id ${id}`);
  assert.deepEqual([2, 3, 4].map((id) => granted(call.repliesTo(id)[0])?.resource), ['ns/7', 'ns/7', 'r']);
  assert.deepEqual([2, 3].map((id) => granted(call.repliesTo(id)[0])?.space), ['ATTR', 'DATA']);
  assert.equal(session.lastRequestId, 4, 'all the batch\'s ids are used');
  call.send({ requestId: 2, body: 'acquireBatch', acquireBatch: batch }); // replayed by a resumed stream
  call.send({ requestId: 4, body: 'acquire', acquire: rangeAcquire('again') });
  assert.equal(h.leader.table.grantsOf(session.id).length, 3, 'nothing granted twice');
  call.send({ requestId: 5, body: 'acquire', acquire: rangeAcquire('single') });
  assert.ok(granted(call.repliesTo(5)[0]), 'a single acquire still works after a batch');
});

test('one refused acquire of a batch fails alone; a batch too large or empty is refused whole', async () => {
  const h = new StreamHarness();
  const { call, session } = await h.openSession();
  call.send({ requestId: 2, body: 'acquireBatch', acquireBatch: { requests: [rangeAcquire('a'), { ...rangeAcquire('b'), space: 'NO_SUCH_SPACE' }, rangeAcquire('c')] } });
  assert.ok(granted(call.repliesTo(2)[0]));
  assert.ok(reasonOf(call.repliesTo(3)[0]), 'the bad one gets an error');
  assert.ok(granted(call.repliesTo(4)[0]));
  call.send({ requestId: 5, body: 'acquireBatch', acquireBatch: { requests: Array.from({ length: 17 }, (_, i) => rangeAcquire(`x${i}`)) } });
  assert.equal(reasonOf(call.repliesTo(5)[0]), 'PROTOCOL_VIOLATION');
  assert.equal(call.repliesTo(6).length, 0);
  call.send({ requestId: 22, body: 'acquireBatch', acquireBatch: { requests: [] } });
  assert.equal(reasonOf(call.repliesTo(22)[0]), 'PROTOCOL_VIOLATION');
  assert.equal(h.leader.table.grantsOf(session.id).length, 2);
});

/** A channel over a link that records what it sends. */
function channel(batch: boolean) {
  const sent: Message[] = [];
  const ch = new RequestChannel(new FakeClock());
  ch.link = { isOpen: true, send: (m: object) => { sent.push({ ...(m as Message) }); return true; }, close: () => undefined } as unknown as SessionLink;
  ch.batchAcquires = batch;
  return { ch, sent };
}

const flushed = () => new Promise<void>((r) => setImmediate(r));

test('acquires asked for in one turn leave as one batch message with the first id', async () => {
  const { ch, sent } = channel(true);
  void ch.send({ acquire: tokenAcquire('ns/7', 'ATTR') });
  void ch.send({ acquire: tokenAcquire('ns/7', 'DATA') });
  assert.equal(sent.length, 0, 'nothing leaves before the turn ends');
  await flushed();
  assert.equal(sent.length, 1);
  assert.equal(sent[0].requestId, 1);
  assert.deepEqual((sent[0].acquireBatch as { requests: Message[] }).requests.map((r) => r.space), ['ATTR', 'DATA']);
  void ch.send({ acquire: tokenAcquire('ns/8', 'ATTR') });
  await flushed();
  assert.equal(sent[1].requestId, 3);
  assert.ok(sent[1].acquire, 'a lone acquire leaves as an ordinary acquire');
});

test('any other message sends the waiting acquires first, so ids stay in order on the wire', async () => {
  const { ch, sent } = channel(true);
  void ch.send({ acquire: tokenAcquire('ns/7', 'ATTR') });
  void ch.send({ acquire: tokenAcquire('ns/7', 'DATA') });
  void ch.send({ release: { lockId: 9 } }).catch(() => undefined);
  assert.deepEqual(sent.map((m) => m.requestId), [1, 3]);
  assert.ok(sent[0].acquireBatch);
  await flushed();
  assert.equal(sent.length, 2, 'nothing sent twice');
});

test('an acquire cancelled before its turn ended is left out of the batch', async () => {
  const { ch, sent } = channel(true);
  const abort = new AbortController();
  void ch.send({ acquire: tokenAcquire('ns/7', 'ATTR') });
  const cancelled = ch.send({ acquire: tokenAcquire('ns/7', 'DATA') }, abort.signal);
  void ch.send({ acquire: tokenAcquire('ns/8', 'DATA') });
  abort.abort();
  await assert.rejects(cancelled);
  await flushed();
  const acquired = sent.flatMap((m) => (m.acquireBatch ? [m.requestId] : m.acquire ? [m.requestId] : []));
  assert.deepEqual(acquired, [1, 3], 'ids 1 and 3 (not consecutive: two messages), never 2');
  assert.ok(sent.every((m) => !m.acquireBatch), 'no batch across the gap');
});

test('to a coordinator that did not say it takes batches, every acquire leaves on its own at once', () => {
  const { ch, sent } = channel(false);
  void ch.send({ acquire: tokenAcquire('ns/7', 'ATTR') });
  void ch.send({ acquire: tokenAcquire('ns/7', 'DATA') });
  assert.deepEqual(sent.map((m) => [m.requestId, m.acquire !== undefined]), [[1, true], [2, true]]);
});

test('a request sent again under its old id after a resume goes before the acquires waiting in this turn', async () => {
  const sent: Message[] = [];
  let up = false;
  const ch = new RequestChannel(new FakeClock());
  ch.link = { isOpen: true, send: (m: object) => { if (up) sent.push({ ...(m as Message) }); return up; }, close: () => undefined } as unknown as SessionLink;
  ch.batchAcquires = true;
  void ch.send({ acquire: tokenAcquire('ns/1', 'ATTR') }); // id 1: the stream is down, it stays pending
  await flushed();
  up = true; // resumed at the same leader, which never saw id 1
  void ch.send({ acquire: tokenAcquire('ns/2', 'ATTR') }); // ids 2 and 3, asked for in the same turn as the resend
  void ch.send({ acquire: tokenAcquire('ns/2', 'DATA') });
  ch.sendRaw(ch.pending.get(1)!.message); // what resumeSession does with what the leader did not process
  await flushed();
  assert.deepEqual(sent.map((m) => m.requestId), [1, 2], 'id 1 first: after 2 and 3 the coordinator would drop it as a duplicate');
  assert.ok(sent[1].acquireBatch);
});
