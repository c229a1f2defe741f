import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { test } from 'node:test';
import { errnoNameOf } from '../../src/common/errno-table';
import { settle, twoHosts } from './coherency-fakes.test';

test('a write on host A is visible to a read on host B (A flushes on the revoke)', async () => {
  const { store, a, b } = twoHosts();
  store.create('/f', 'old data');
  const fa = await a.open('/f');
  await a.write(fa, 0, 'new');
  assert.equal(store.content('/f'), 'old data', 'buffered, not yet written');
  const fb = await b.open('/f');
  assert.equal(await b.read(fb, 0, 100), 'new data');
  assert.equal(store.content('/f'), 'new data');
});

test('a reader on B holding a READ token sees A\'s later write', async () => {
  const { store, a, b } = twoHosts();
  store.create('/f', 'aaaa');
  const fb = await b.open('/f');
  assert.equal(await b.read(fb, 0, 4), 'aaaa');
  const pwritesBefore = store.pwrites.length;
  assert.equal(await b.read(fb, 0, 4), 'aaaa', 'second read from the page cache');
  const fa = await a.open('/f');
  await a.write(fa, 1, 'BB');
  assert.equal(store.pwrites.length, pwritesBefore, 'A buffers its write');
  assert.equal(await b.read(fb, 0, 4), 'aBBa');
});

test('appends through O_APPEND from A and B both survive', async () => {
  const { store, a, b } = twoHosts();
  store.create('/log', '');
  const fa = await a.open('/log', constants.O_WRONLY | constants.O_APPEND);
  const fb = await b.open('/log', constants.O_WRONLY | constants.O_APPEND);
  for (let i = 0; i < 3; i++) {
    await a.write(fa, 0, `a${i};`);
    await b.write(fb, 0, `b${i};`);
  }
  assert.equal(store.content('/log'), 'a0;b0;a1;b1;a2;b2;');
});

test('appends at the size from getattr (no O_APPEND) from A and B both survive', async () => {
  const { store, a, b } = twoHosts();
  store.create('/log', '');
  const fa = await a.open('/log');
  const fb = await b.open('/log');
  for (let i = 0; i < 3; i++) {
    await a.write(fa, (await a.getattr('/log')).size, `a${i};`);
    await b.write(fb, (await b.getattr('/log')).size, `b${i};`);
  }
  await a.fsync(fa);
  await b.fsync(fb);
  assert.equal(store.content('/log'), 'a0;b0;a1;b1;a2;b2;');
  assert.equal((await a.getattr('/log')).size, 18);
});

test('writers of disjoint ranges of one page both keep their data', async () => {
  const { coordinator, store, a, b } = twoHosts();
  coordinator.expand = false;
  store.create('/f', '.'.repeat(20));
  const fa = await a.open('/f');
  const fb = await b.open('/f');
  await a.write(fa, 0, 'AAAA');
  await b.write(fb, 10, 'BBBB');
  assert.equal(coordinator.revokes.filter((r) => r.wantedMode === 'WRITE').length, 0, 'no data revokes between disjoint writers');
  assert.equal(store.content('/f'), '.'.repeat(20));
  await a.fsync(fa);
  await b.fsync(fb);
  assert.equal(store.content('/f'), 'AAAA......BBBB......');
});

test('writers of disjoint ranges with expanded grants both keep their data', async () => {
  const { store, a, b } = twoHosts();
  store.create('/f', '.'.repeat(20));
  const fa = await a.open('/f');
  const fb = await b.open('/f');
  await a.write(fa, 0, 'AAAA');
  await b.write(fb, 10, 'BBBB');
  await a.write(fa, 4, 'aa');
  await a.fsync(fa);
  await b.fsync(fb);
  assert.equal(store.content('/f'), 'AAAAaa....BBBB......');
});

test('dirty data reaches the backing store within 1 s of the first write', async () => {
  const { clock, store, a } = twoHosts();
  store.create('/f', '');
  const fa = await a.open('/f');
  await a.write(fa, 0, 'hello');
  clock.advance(500);
  await settle();
  await a.write(fa, 5, ' world');
  assert.equal(store.content('/f'), '');
  clock.advance(499);
  await settle();
  assert.equal(store.content('/f'), '');
  clock.advance(1);
  await settle();
  assert.equal(store.content('/f'), 'hello world');
  assert.equal(store.pwrites.length, 1, 'contiguous dirty bytes go out in one pwrite');
});

test('nothing is written after the lease deadline; the loss surfaces on fsync as EIO', async () => {
  const { clock, store, a } = twoHosts();
  store.create('/f', 'keep');
  const fa = await a.open('/f');
  await a.write(fa, 0, 'lost');
  a.client.deadlineMs = clock.nowMs() + 300;
  clock.advance(1000);
  await settle();
  assert.equal(store.content('/f'), 'keep');
  assert.equal(store.pwrites.length, 0);
  await assert.rejects(a.fsync(fa), (e) => errnoNameOf(e) === 'EIO');
  assert.equal(store.content('/f'), 'keep');
});

test('a fenced agent fails reads with EIO, and reports unflushed data on close', async () => {
  const { store, a } = twoHosts();
  store.create('/f', 'data');
  const fa = await a.open('/f');
  await a.write(fa, 0, 'DATA');
  a.client.fence();
  await assert.rejects(a.read(fa, 0, 4), (e) => errnoNameOf(e) === 'EIO');
  await assert.rejects(a.flush(fa), (e) => errnoNameOf(e) === 'EIO');
  await a.release(fa);
  assert.equal(store.content('/f'), 'data');
});

test('a revoke waits for an in-flight write on its range', async () => {
  const { store, a, b } = twoHosts();
  store.create('/f', '0123456789');
  const fa = await a.open('/f');
  const fb = await b.open('/f');
  let openGate!: () => void;
  store.statGate = new Promise((r) => (openGate = r));
  const writing = a.write(fa, 0, 'XY'); // holds its tokens while it checks the size
  await settle();
  let readDone = false;
  const reading = b.read(fb, 0, 10).then((s) => {
    readDone = true;
    return s;
  });
  await settle();
  assert.equal(readDone, false, 'the revoke is waiting for the write');
  store.statGate = undefined;
  openGate();
  await writing;
  assert.equal(await reading, 'XY23456789');
});

test('uncached grants make writes go through at once and reads skip the cache', async () => {
  const { coordinator, store, a, b } = twoHosts();
  const ino = store.create('/f', 'abcd');
  coordinator.uncached.add(`ns/${ino}`);
  const fa = await a.open('/f');
  await a.write(fa, 0, 'X');
  assert.equal(store.content('/f'), 'Xbcd', 'written through');
  assert.equal(await a.read(fa, 0, 4), 'Xbcd');
  store.pwrite(ino, 1, Buffer.from('Y')); // behind everyone's back: only an uncached read sees it
  assert.equal(await a.read(fa, 0, 4), 'XYcd');
  const fb = await b.open('/f');
  assert.equal(await b.read(fb, 0, 4), 'XYcd');
});

test('truncate drops cached bytes past the new size on every host', async () => {
  const { store, a, b } = twoHosts();
  store.create('/f', 'abcdefgh');
  const fb = await b.open('/f');
  assert.equal(await b.read(fb, 0, 8), 'abcdefgh');
  await a.truncate('/f', 3);
  assert.equal(await b.read(fb, 0, 8), 'abc');
  assert.equal((await b.getattr('/f')).size, 3);
  await a.truncate('/f', 6);
  assert.equal(await b.read(fb, 0, 8), 'abc\0\0\0');
});

test('getattr shows the size of unflushed writes, and another host sees it after the revoke', async () => {
  const { store, a, b } = twoHosts();
  store.create('/f', 'ab');
  const fa = await a.open('/f');
  await a.write(fa, 2, 'cdef');
  assert.equal((await a.getattr('/f')).size, 6);
  assert.equal(store.content('/f'), 'ab');
  assert.equal((await b.getattr('/f')).size, 6);
  assert.equal(store.content('/f'), 'abcdef');
});

test('reading past a write beyond end of file shows the hole as zeros', async () => {
  const { store, a } = twoHosts();
  store.create('/f', 'ab');
  const fa = await a.open('/f');
  assert.equal(await a.read(fa, 0, 10), 'ab');
  await a.write(fa, 5000, 'Z');
  const got = await a.read(fa, 0, 5001);
  assert.equal(got.length, 5001);
  assert.equal(got.slice(0, 2), 'ab');
  assert.equal(got.slice(2, 5000), '\0'.repeat(4998));
  assert.equal(got[5000], 'Z');
});

test('a read whose backing pread raced the flush of this host\'s own write serves the write, and caches no older bytes', async () => {
  // Chaos seed 17 with --kernel-page-cache: the flush cleaned (and so removed) the page holding only the
  // write's bytes while the read's pread, made before the flush, was coming back with the old bytes;
  // the read served them and cached them (a planted revert of DataReads.readCached's flush fails here).
  const { store, a } = twoHosts();
  store.create('/f', 'old data');
  const fa = await a.open('/f');
  await a.write(fa, 0, 'new');
  let release!: () => void;
  store.readGate = new Promise<void>((r) => (release = r));
  const reading = a.read(fa, 0, 8);
  await settle();
  assert.equal(store.preads.length, 1, 'the read\'s pread is out, held');
  await a.fsync(fa);
  assert.equal(store.content('/f'), 'new data');
  store.readGate = undefined;
  release();
  assert.equal(await reading, 'new data');
  assert.equal(await a.read(fa, 0, 8), 'new data', 'the next read, from the cache');
});

test('a write, an append and a truncate move the mtime and ctime this host reports, flushed or not', async () => {
  const { store, a } = twoHosts();
  store.create('/f', 'ab');
  const fa = await a.open('/f');
  const cached = await a.getattr('/f'); // caches the store's times under the attr token
  const t0 = Date.now();
  await a.write(fa, 0, 'X'); // buffered: the store's times have not moved
  assert.equal(store.content('/f'), 'ab');
  const written = await a.getattr('/f');
  assert.ok(written.mtimeMs >= t0 && written.ctimeMs >= Math.floor(t0), `mtime ${written.mtimeMs}, ctime ${written.ctimeMs} (before: ${cached.mtimeMs}, ${cached.ctimeMs}; write at ${t0})`);
  await a.truncate('/f', 1);
  const t1 = written.mtimeMs;
  const truncated = await a.getattr('/f');
  assert.equal(truncated.size, 1);
  assert.ok(truncated.mtimeMs >= t1 && truncated.ctimeMs >= Math.floor(t1));

  store.create('/g', '');
  const fg = await a.open('/g', constants.O_WRONLY | constants.O_APPEND);
  const t2 = Date.now();
  await a.write(fg, 0, 'line\n');
  const appended = await a.getattr('/g');
  assert.ok(appended.mtimeMs >= t2 && appended.ctimeMs >= Math.floor(t2), `append: mtime ${appended.mtimeMs}, at ${t2}`);

  store.create('/h', 'abc');
  const fh = await a.open('/h');
  const t3 = Date.now();
  await a.write(fh, 1, 'Z'); // no attributes cached yet: the stat finds the store's old times, the dirty page is newer
  const unflushed = await a.getattr('/h');
  assert.ok(unflushed.mtimeMs >= t3, `unflushed write: mtime ${unflushed.mtimeMs}, at ${t3}`);
});
