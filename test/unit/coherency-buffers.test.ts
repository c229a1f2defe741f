import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlushBuffers } from '../../src/agent/coherency/flush-buffers';
import { FileRef, PAGE_SIZE } from '../../src/agent/coherency/page';
import { PageBufferPool } from '../../src/agent/coherency/page-buffer-pool';
import { PageCache } from '../../src/agent/coherency/page-cache';

const ref: FileRef = { ino: 7, path: '/f', fh: 1 };

test('a flush buffer given back is handed out again, at most `keep` are kept', () => {
  const buffers = new FlushBuffers(1024 * 1024, 1);
  const a = buffers.take(512 * 1024);
  const b = buffers.take(1024 * 1024);
  assert.notEqual(a.buffer, b.buffer);
  buffers.give(a);
  buffers.give(b);
  assert.equal(buffers.spareCount, 1);
  assert.equal(buffers.take(256 * 1024).buffer, a.buffer);
});

test('small flush runs and foreign buffers are never kept', () => {
  const buffers = new FlushBuffers(1024 * 1024);
  buffers.give(buffers.take(4096));
  buffers.give(Buffer.alloc(1024 * 1024));
  assert.equal(buffers.spareCount, 0);
});

test('a flush buffer given back twice is kept once', () => {
  const buffers = new FlushBuffers(1024 * 1024);
  const a = buffers.take(1024 * 1024);
  buffers.give(a);
  buffers.give(a);
  assert.equal(buffers.spareCount, 1);
});

test('page buffers are cut from slabs and reused, up to maxFree', () => {
  const pool = new PageBufferPool(8);
  const first = pool.take();
  assert.equal(first.length, PAGE_SIZE);
  assert.equal(pool.freeCount, 8, 'the rest of the slab waits, up to maxFree');
  pool.give(first);
  assert.equal(pool.freeCount, 8, 'beyond maxFree a buffer goes to the collector');
});

test('a removed page\'s buffer serves a new page without leaking old bytes into reads', () => {
  const pages = new PageCache({ maxBytes: 4 * PAGE_SIZE });
  const a = pages.fileFor('ns/1', ref);
  pages.write(a, 0, Buffer.alloc(PAGE_SIZE, 0x41));
  const oldBuf = a.pages.get(0)!.buf;
  pages.dropFile(a);
  const b = pages.fileFor('ns/2', { ...ref, ino: 8 });
  pages.write(b, 10, Buffer.from('new'));
  const page = b.pages.get(0)!;
  assert.equal(page.buf.buffer, oldBuf.buffer, 'same memory reused');
  assert.equal(page.buf.byteOffset, oldBuf.byteOffset);
  assert.equal(pages.readCached(b, 0, 20, true), undefined, 'unknown bytes of an unfilled page are never served');
  const out = pages.readThrough(b, 0, 20, Buffer.alloc(8, 0x7a), { allowShort: true, generation: b.writeGeneration, cacheable: () => true });
  assert.equal(out.toString('latin1'), 'zzzzzzzz\0\0new');
});
