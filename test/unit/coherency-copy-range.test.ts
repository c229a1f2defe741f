import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WHOLE_FILE } from '../../src/common/byte-range';
import { errnoNameOf } from '../../src/common/errno-table';
import { silentLogger } from '../../src/common/logger';
import { compose } from '../../src/agent/hooks/compose';
import { createJournalHook } from '../../src/agent/hooks/journal';
import { MemoryJournalSink } from '../../src/agent/journal/memory-journal-sink';
import { COPY_CHUNK_BYTES } from '../../src/agent/coherency/copy-range-op';
import { twoHosts } from './coherency-fakes.test';

/** The copy_file_range vop under the coherency hook (coherency/copy-range-op.ts), with the fake coordinator and store. */

const held = (h: ReturnType<typeof twoHosts>, who: 'a' | 'b', ino: number) =>
  h.coordinator.held(h[who].client, `ns/${ino}`).map((g) => `${g.space} ${g.mode} ${g.range.start}-${g.range.end === WHOLE_FILE.end ? 'EOF' : g.range.end}`).sort();

test('copies under data READ of the source range, data WRITE of the destination range and attr WRITE of a destination it grows', async () => {
  const h = twoHosts();
  h.coordinator.expand = false;
  const src = h.store.create('/src', '0123456789');
  const dst = h.store.create('/dst', 'abc');
  const fs = await h.a.open('/src');
  const fd = await h.a.open('/dst');
  const r = await h.a.copy(fs, 2, fd, 3, 5);
  assert.equal(r.copied, 5);
  assert.equal(r.bytes.toString(), '23456');
  assert.equal(h.store.content('/dst'), 'abc23456');
  assert.deepEqual(held(h, 'a', src), ['data READ 2-7']);
  assert.deepEqual(held(h, 'a', dst), ['attr WRITE 0-EOF', 'data WRITE 3-8']);
  assert.equal((await h.a.getattr('/dst')).size, 8, 'the size this host knows grew with the copy');
});

test('a copy inside the destination\'s size takes attr READ only', async () => {
  const h = twoHosts();
  h.coordinator.expand = false;
  h.store.create('/src', 'xy');
  const dst = h.store.create('/dst', 'abcdef');
  const fs = await h.a.open('/src');
  const fd = await h.a.open('/dst');
  await h.a.copy(fs, 0, fd, 1, 2);
  assert.equal(h.store.content('/dst'), 'axydef');
  assert.deepEqual(held(h, 'a', dst), ['attr READ 0-EOF', 'data WRITE 1-3']);
});

test('this host\'s dirty bytes of the source reach the store before the copy', async () => {
  const h = twoHosts();
  h.store.create('/src', 'old-old-');
  h.store.create('/dst', '');
  const fs = await h.a.open('/src');
  const fd = await h.a.open('/dst');
  await h.a.write(fs, 4, 'NEW-');
  assert.equal(h.store.content('/src'), 'old-old-', 'buffered');
  await h.a.copy(fs, 0, fd, 0, 8);
  assert.equal(h.store.content('/dst'), 'old-NEW-');
});

test('another host\'s dirty bytes of the source are flushed by the revoke the copy\'s READ causes', async () => {
  const h = twoHosts();
  h.store.create('/src', 'old-old-');
  h.store.create('/dst', '');
  const fb = await h.b.open('/src');
  await h.b.write(fb, 0, 'B');
  const fs = await h.a.open('/src');
  const fd = await h.a.open('/dst');
  await h.a.copy(fs, 0, fd, 0, 8);
  assert.equal(h.store.content('/dst'), 'Bld-old-');
});

test('this host\'s dirty bytes of the destination range go first, so no later flush writes them over the copy', async () => {
  const h = twoHosts();
  h.store.create('/src', 'COPY');
  h.store.create('/dst', '........');
  const fs = await h.a.open('/src');
  const fd = await h.a.open('/dst');
  await h.a.write(fd, 2, 'dirty');
  await h.a.copy(fs, 0, fd, 2, 4);
  await h.a.fsync(fd);
  assert.equal(h.store.content('/dst'), '..COPYy.');
});

test('this host\'s cached pages of the destination are dropped: a read after the copy returns the copied bytes', async () => {
  const h = twoHosts();
  h.store.create('/src', 'NEW');
  h.store.create('/dst', 'old bytes');
  const fs = await h.a.open('/src');
  const fd = await h.a.open('/dst');
  assert.equal(await h.a.read(fd, 0, 9), 'old bytes');
  const reads = h.store.preads.length;
  assert.equal(await h.a.read(fd, 0, 9), 'old bytes');
  assert.equal(h.store.preads.length, reads, 'served from the page cache');
  await h.a.copy(fs, 0, fd, 4, 3);
  assert.equal(await h.a.read(fd, 0, 9), 'old NEWes');
});

test('B, which had cached the destination, reads the copied bytes (its token was revoked)', async () => {
  const h = twoHosts();
  h.store.create('/src', 'NEW');
  h.store.create('/dst', 'old bytes');
  const fbd = await h.b.open('/dst');
  assert.equal(await h.b.read(fbd, 0, 9), 'old bytes');
  const fs = await h.a.open('/src');
  const fd = await h.a.open('/dst');
  await h.a.copy(fs, 0, fd, 0, 3);
  assert.equal(await h.b.read(fbd, 0, 9), 'NEW bytes');
});

test('refuses flags, bad offsets and overlapping ranges of one file with EINVAL, before any token or copy', async () => {
  const h = twoHosts();
  h.store.create('/f', '0123456789');
  const f = await h.a.open('/f');
  const before = h.coordinator.grants.size;
  await assert.rejects(h.a.copy(f, 0, f, 5, 5, 1), (e) => errnoNameOf(e) === 'EINVAL');
  await assert.rejects(h.a.copy(f, -1, f, 5, 5), (e) => errnoNameOf(e) === 'EINVAL');
  await assert.rejects(h.a.copy(f, 0, f, 1.5, 5), (e) => errnoNameOf(e) === 'EINVAL');
  await assert.rejects(h.a.copy(f, 0, f, 4, 5), (e) => errnoNameOf(e) === 'EINVAL');
  await assert.rejects(h.a.copy(f, 4, f, 0, 5), (e) => errnoNameOf(e) === 'EINVAL');
  assert.equal(h.coordinator.grants.size, before, 'no token was asked for');
  assert.equal(h.store.content('/f'), '0123456789');
  const r = await h.a.copy(f, 0, f, 5, 5);
  assert.equal(r.copied, 5);
  assert.equal(h.store.content('/f'), '0123401234');
});

test('a file in direct mode is refused with EOPNOTSUPP (the kernel then copies through READ and WRITE)', async () => {
  const h = twoHosts();
  const src = h.store.create('/src', 'abc');
  h.store.create('/dst', '');
  h.coordinator.direct.add(`ns/${src}`);
  const fs = await h.a.open('/src');
  const fd = await h.a.open('/dst');
  await assert.rejects(h.a.copy(fs, 0, fd, 0, 3), (e) => errnoNameOf(e) === 'EOPNOTSUPP');
  assert.equal(h.store.content('/dst'), '');
});

test('a fenced agent copies nothing (EIO)', async () => {
  const h = twoHosts();
  h.store.create('/src', 'abc');
  h.store.create('/dst', '');
  const fs = await h.a.open('/src');
  const fd = await h.a.open('/dst');
  h.a.client.fence();
  await assert.rejects(h.a.copy(fs, 0, fd, 0, 3), (e) => errnoNameOf(e) === 'EIO');
  assert.equal(h.store.content('/dst'), '');
});

test('copies at most COPY_CHUNK_BYTES per request (a short count the caller continues)', async () => {
  const h = twoHosts();
  h.store.create('/src', Buffer.alloc(COPY_CHUNK_BYTES + 10, 1));
  h.store.create('/dst', '');
  const fs = await h.a.open('/src');
  const fd = await h.a.open('/dst');
  assert.equal((await h.a.copy(fs, 0, fd, 0, COPY_CHUNK_BYTES + 10)).copied, COPY_CHUNK_BYTES);
});

test('is journaled as a write of the copied bytes at the destination offset, under the destination\'s data WRITE token', async () => {
  const h = twoHosts();
  const src = h.store.create('/src', 'old-old-');
  const dst = h.store.create('/dst', '');
  const sink = new MemoryJournalSink();
  const run = compose([createJournalHook({ namespace: 'ns', sink, logger: silentLogger() })], (vop) => h.a.run(vop));
  const fs = await h.a.open('/src');
  const fd = await h.a.open('/dst');
  await h.a.write(fs, 4, 'NEW-');
  const signal = new AbortController().signal;
  const r = await run({ op: 'copyFileRange', path: '/dst', ino: dst, args: { fhIn: fs, inoIn: src, offsetIn: 2, fh: fd, offset: 1, length: 6, flags: 0 }, signal });
  assert.equal(r.copied, 6);
  assert.equal(sink.records.length, 1);
  const rec = sink.records[0];
  assert.equal(rec.op, 'write');
  assert.equal(rec.ino, dst);
  assert.deepEqual(rec.args, { offset: 1, data: { length: 6 }, copiedFrom: { ino: src, offset: 2 } });
  assert.equal(rec.payload?.toString(), 'd-NEW-', 'the source\'s bytes including this host\'s unflushed write');
  const token = h.a.core.tokens.find({ resource: `ns/${dst}`, space: 'data', mode: 'WRITE', range: { start: 1, end: 7 } });
  assert.ok(token, 'A holds data WRITE on the destination range');
  assert.deepEqual(rec.fencingToken, token.fencingToken, 'the record carries that token');
  // A copy of nothing (at the source's end) journals nothing.
  await run({ op: 'copyFileRange', path: '/dst', ino: dst, args: { fhIn: fs, inoIn: src, offsetIn: 8, fh: fd, offset: 0, length: 4, flags: 0 }, signal });
  assert.equal(sink.records.length, 1);
});
