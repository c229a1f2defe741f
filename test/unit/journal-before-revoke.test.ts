import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { test } from 'node:test';
import { FakeClock } from '../../src/common/clock';
import { silentLogger } from '../../src/common/logger';
import { createJournalHook } from '../../src/agent/hooks/journal';
import { MemoryJournalSink } from '../../src/agent/journal/memory-journal-sink';
import type { Hook } from '../../src/agent/vop';
import { FakeAgent, FakeCoordinator, FakeStore, settle } from './coherency-fakes.test';

/**
 * The replication ordering rule (docs/replication.md): a record is in the
 * journal before the token it ran under can move to another host. These
 * tests run the journal hook outside the coherency hook, as the agent does,
 * hold a write in the store while another host's read revokes its token,
 * and log when the record is appended and when the revoke is answered.
 */
function hostsWithJournal() {
  const clock = new FakeClock(1000);
  const coordinator = new FakeCoordinator();
  const store = new FakeStore();
  store.create('/f', 'old');
  const events: string[] = [];
  const sink = new MemoryJournalSink();
  const append = sink.append.bind(sink);
  sink.append = (record) => {
    events.push(`record ${record.op}`);
    append(record);
  };
  let releaseWrite: (() => void) | undefined;
  const holdWrites: Hook = async (vop, next) => {
    if (vop.op === 'write') await new Promise<void>((r) => (releaseWrite = r));
    return next(vop);
  };
  const journal = createJournalHook({ namespace: 'ns', sink, logger: silentLogger() });
  const a = new FakeAgent('A', coordinator, store, clock, {}, { outer: [journal], inner: [holdWrites] });
  const b = new FakeAgent('B', coordinator, store, clock);
  const deliver = a.client.deliverRevoke.bind(a.client);
  a.client.deliverRevoke = async (notice) => {
    const answer = await deliver(notice);
    events.push('revoke answered');
    return answer;
  };
  return { a, b, events, release: () => releaseWrite?.(), written: () => releaseWrite !== undefined };
}

test('a write held in the store while another host\'s read revokes its token: its journal record is appended before the revoke is answered', async () => {
  const h = hostsWithJournal();
  const fh = await h.a.open('/f', constants.O_RDWR | constants.O_APPEND); // O_APPEND: written through, in the op
  const write = h.a.write(fh, 0, 'new');
  for (let i = 0; i < 100 && !h.written(); i++) await settle(1);
  assert.ok(h.written(), 'the write reached the store');
  const bfh = await h.b.open('/f', constants.O_RDONLY);
  const read = h.b.read(bfh, 0, 6);
  await settle();
  assert.ok(!h.events.includes('revoke answered'), 'the revoke waits for the write in flight');
  h.release();
  await Promise.all([write, read]);
  assert.deepEqual(h.events, ['record write', 'revoke answered']);
  assert.equal(await h.b.read(bfh, 0, 6), 'oldnew');
});
