import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../src/common/clock';
import { errnoNameOf } from '../../src/common/errno-table';
import { FileRef, PAGE_SIZE } from '../../src/agent/coherency/page';
import { PageCache } from '../../src/agent/coherency/page-cache';
import { WriteBack } from '../../src/agent/coherency/write-back';
import { settle } from './coherency-fakes.test';

const ref: FileRef = { ino: 7, path: '/f', fh: 1 };

function setup(o: { maxDirtyBytes?: number; maxBytes?: number; maxWriteBytes?: number; backgroundDirtyBytes?: number } = {}) {
  const clock = new FakeClock(0);
  const pages = new PageCache({ maxBytes: o.maxBytes ?? 1024 * PAGE_SIZE });
  const writes: Array<{ offset: number; data: string; atMs: number }> = [];
  let deadlineMs = Number.MAX_SAFE_INTEGER;
  let fail: Error | undefined;
  const wb = new WriteBack({
    pages,
    clock,
    flushFn: async (_file, offset, data) => {
      if (fail) throw fail;
      writes.push({ offset, data: data.toString(), atMs: clock.nowMs() });
      clock.advance(10); // each pwrite takes 10 ms
    },
    deadlineMs: () => deadlineMs,
    maxDirtyBytes: o.maxDirtyBytes,
    maxWriteBytes: o.maxWriteBytes,
    backgroundDirtyBytes: o.backgroundDirtyBytes,
  });
  const file = pages.fileFor('ns/7', ref);
  const write = (offset: number, data: string) => {
    assert.equal(pages.write(file, offset, Buffer.from(data)), -1);
    return wb.dirtied('ns/7');
  };
  return {
    clock, pages, wb, file, writes, write,
    setDeadline: (ms: number) => (deadlineMs = ms),
    setFail: (e: Error | undefined) => (fail = e),
  };
}

test('contiguous dirty pages are coalesced into one pwrite', async () => {
  const { wb, write, writes } = setup();
  write(0, 'a'.repeat(PAGE_SIZE * 3 + 10));
  write(PAGE_SIZE * 10, 'z');
  await wb.flush('ns/7');
  assert.deepEqual(writes.map((w) => [w.offset, w.data.length]), [[0, PAGE_SIZE * 3 + 10], [PAGE_SIZE * 10, 1]]);
});

test('a range flush writes a write that crosses a page boundary whole, not just its page in range', async () => {
  const { wb, write, writes } = setup();
  write(PAGE_SIZE - 96, 'r'.repeat(100)); // one record: 96 bytes in page 0, 4 in page 1
  write(PAGE_SIZE * 8, 'elsewhere');
  await wb.flush('ns/7', { start: PAGE_SIZE, end: 2 * PAGE_SIZE });
  assert.deepEqual(writes.map((w) => [w.offset, w.data.length]), [[PAGE_SIZE - 96, 100]], 'the record in one pwrite; the unrelated page stays dirty');
});

test('a pwrite never exceeds maxWriteBytes', async () => {
  const { wb, write, writes } = setup({ maxWriteBytes: 2 * PAGE_SIZE });
  write(0, 'a'.repeat(PAGE_SIZE * 5));
  await wb.flush('ns/7');
  assert.deepEqual(writes.map((w) => w.data.length), [2 * PAGE_SIZE, 2 * PAGE_SIZE, PAGE_SIZE]);
});

test('the deadline is checked before each pwrite: later runs are dropped and reported', async () => {
  const { wb, write, writes, setDeadline, pages } = setup({ maxWriteBytes: PAGE_SIZE });
  write(0, 'a'.repeat(PAGE_SIZE * 3));
  setDeadline(15); // the first pwrite starts at 0 and ends at 10, the second would start at 10, the third at 20
  await wb.flush('ns/7');
  assert.equal(writes.length, 2);
  assert.deepEqual(writes.map((w) => w.atMs), [0, 10]);
  assert.equal(pages.dirtyBytes, 0, 'what cannot be written is not kept for later');
  const error = wb.takeError('ns/7');
  assert.ok(error);
  assert.equal(errnoNameOf(error), 'EIO');
  assert.equal(wb.takeError('ns/7'), undefined, 'reported once');
});

test('a failed pwrite becomes the file\'s error with its own errno', async () => {
  const { wb, write, setFail, pages } = setup();
  write(0, 'abc');
  setFail(Object.assign(new Error('no space'), { code: 'ENOSPC' }));
  await wb.flush('ns/7');
  assert.equal(errnoNameOf(wb.takeError('ns/7')), 'ENOSPC');
  assert.equal(pages.dirtyBytes, 0);
});

test('the flush timer fires ~1 s after the first dirtying, not after the last', async () => {
  const { clock, write, writes } = setup();
  write(0, 'x');
  clock.advance(600);
  write(1, 'y');
  clock.advance(399);
  await settle();
  assert.equal(writes.length, 0);
  clock.advance(1);
  await settle();
  assert.deepEqual(writes.map((w) => [w.offset, w.data]), [[0, 'xy']]);
});

test('writers wait while dirty memory is over the limit', async () => {
  const { write, writes, pages } = setup({ maxDirtyBytes: 4 * PAGE_SIZE });
  assert.equal(write(0, 'a'.repeat(4 * PAGE_SIZE)), undefined);
  const throttle = write(4 * PAGE_SIZE, 'b');
  assert.ok(throttle, 'over the limit: the writer gets a promise');
  await throttle;
  assert.ok(writes.length > 0);
  assert.ok(pages.dirtyBytes <= 2 * PAGE_SIZE);
});

test('above the background level, flushing starts without making the writer wait', async () => {
  const { write, writes, pages } = setup({ maxDirtyBytes: 16 * PAGE_SIZE, backgroundDirtyBytes: 2 * PAGE_SIZE });
  assert.equal(write(0, 'a'.repeat(2 * PAGE_SIZE)), undefined);
  await settle(5);
  assert.equal(writes.length, 0, 'at the level: nothing flushed yet');
  assert.equal(write(2 * PAGE_SIZE, 'b'.repeat(PAGE_SIZE)), undefined, 'above it: the writer goes on');
  await settle(10);
  assert.deepEqual(writes.map((w) => [w.offset, w.data.length]), [[0, 3 * PAGE_SIZE]]);
  assert.equal(pages.dirtyBytes, 0);
});

test('flush buffers are reused across runs and every run carries its own bytes', async () => {
  const { wb, pages, file, writes } = setup({ maxWriteBytes: 32 * PAGE_SIZE, maxBytes: 4096 * PAGE_SIZE });
  for (const fill of ['x', 'y', 'z']) {
    assert.equal(pages.write(file, 0, Buffer.from(fill.repeat(20 * PAGE_SIZE))), -1);
    await wb.flush('ns/7');
  }
  assert.deepEqual(writes.map((w) => w.data), ['x', 'y', 'z'].map((c) => c.repeat(20 * PAGE_SIZE)));
});

test('a page rewritten during its flush stays dirty', async () => {
  const clock = new FakeClock(0);
  const pages = new PageCache();
  const file = pages.fileFor('ns/7', ref);
  let release!: () => void;
  const wb = new WriteBack({ pages, clock, deadlineMs: () => Infinity, flushFn: () => new Promise<void>((r) => (release = r)) });
  pages.write(file, 0, Buffer.from('one'));
  const flushing = wb.flush('ns/7');
  await settle(2);
  pages.write(file, 0, Buffer.from('two'));
  release();
  await flushing;
  assert.equal(pages.dirtyBytes, PAGE_SIZE);
});

test('clean pages are evicted LRU beyond the memory limit; dirty pages are not', () => {
  const pages = new PageCache({ maxBytes: 2 * PAGE_SIZE });
  const file = pages.fileFor('ns/7', ref);
  pages.write(file, 0, Buffer.alloc(PAGE_SIZE, 1));
  const backing = Buffer.alloc(3 * PAGE_SIZE, 2);
  const policy = { allowShort: true, generation: file.writeGeneration, cacheable: () => true };
  pages.readThrough(file, PAGE_SIZE, 3 * PAGE_SIZE, backing, policy);
  assert.equal(pages.bytes, 2 * PAGE_SIZE);
  assert.ok(file.pages.get(0)?.dirty, 'the dirty page stays');
  assert.ok(file.pages.get(3), 'the most recently filled page stays');
});

test('two separate dirty extents in an unfilled page ask for a flush first', () => {
  const pages = new PageCache();
  const file = pages.fileFor('ns/7', ref);
  assert.equal(pages.write(file, 0, Buffer.from('ab')), -1);
  assert.equal(pages.write(file, 2, Buffer.from('cd')), -1, 'adjacent extents merge');
  assert.equal(pages.write(file, 100, Buffer.from('x')), 0, 'a gap of unknown bytes: flush page 0 first');
  const page = file.pages.get(0)!;
  assert.deepEqual([page.dirtyStart, page.dirtyEnd], [0, 4]);
});

test('a read through the cache overlays dirty bytes on backing bytes', () => {
  const pages = new PageCache();
  const file = pages.fileFor('ns/7', ref);
  pages.write(file, 2, Buffer.from('XY'));
  const out = pages.readThrough(file, 0, 10, Buffer.from('abcdef'), { allowShort: true, generation: file.writeGeneration, cacheable: () => true });
  assert.equal(out.toString(), 'abXYef');
  assert.equal(pages.readCached(file, 0, 10, true)?.toString(), 'abXYef');
  assert.equal(pages.readCached(file, 0, 10, false), undefined, 'end of file known only under a token reaching it');
});

test('flushes fdatasync a file each time earlySyncBytes were written since its last sync, and a failed sync is the file\'s error', async () => {
  const clock = new FakeClock(0);
  const pages = new PageCache({ maxBytes: 1024 * PAGE_SIZE });
  const events: string[] = [];
  let syncFails = false;
  const wb = new WriteBack({
    pages, clock, deadlineMs: () => Number.MAX_SAFE_INTEGER, maxWriteBytes: 2 * PAGE_SIZE,
    flushFn: async (_f, offset, data) => { events.push(`pwrite ${offset / PAGE_SIZE}+${data.length / PAGE_SIZE}`); },
    syncFn: async (f) => { events.push(`sync fh ${f.fh}`); if (syncFails) throw new Error('EIO: fdatasync'); },
    earlySyncBytes: 3 * PAGE_SIZE,
  });
  const file = pages.fileFor('ns/7', ref);
  assert.equal(pages.write(file, 0, Buffer.alloc(6 * PAGE_SIZE, 1)), -1);
  await wb.flush('ns/7');
  assert.deepEqual(events, ['pwrite 0+2', 'pwrite 2+2', 'sync fh 1', 'pwrite 4+2']);
  assert.equal(wb.earlySync?.count, 1);
  syncFails = true;
  assert.equal(pages.write(file, 6 * PAGE_SIZE, Buffer.alloc(PAGE_SIZE, 2)), -1);
  await wb.flush('ns/7'); // 3 pages since the sync: 4+2 before, 6+1 now
  assert.deepEqual(events.slice(4), ['pwrite 6+1', 'sync fh 1']);
  assert.match(String(wb.takeError('ns/7')), /fdatasync/);
  const without = new WriteBack({ pages, clock, deadlineMs: () => Number.MAX_SAFE_INTEGER, flushFn: async () => undefined });
  assert.equal(without.earlySync, undefined);
});
