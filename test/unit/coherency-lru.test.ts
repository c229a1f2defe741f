import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FilePages, Page, PAGE_SIZE } from '../../src/agent/coherency/page';
import { PageCache } from '../../src/agent/coherency/page-cache';
import { IntrusiveLru } from '../../src/agent/coherency/intrusive-lru';

test('the page LRU gives the least recently used page first, and a touched page moves to the end', () => {
  const file = new FilePages('ns/1', { ino: 1, path: '/f' });
  const [p0, p1, p2] = [0, 1, 2].map((i) => new Page(file, i));
  const lru = new IntrusiveLru<Page>();
  lru.push(p0);
  lru.push(p1);
  lru.push(p2);
  lru.push(p0);
  assert.equal(lru.oldest(), p1);
  lru.remove(p1);
  assert.equal(lru.oldest(), p2);
  lru.remove(p2);
  lru.remove(p2);
  assert.equal(lru.oldest(), p0);
  lru.remove(p0);
  assert.equal(lru.oldest(), undefined);
});

test('a full cache evicts clean pages least recently read first, and keeps dirty ones', () => {
  const pages = new PageCache({ maxBytes: 3 * PAGE_SIZE });
  const file = pages.fileFor('ns/7', { ino: 7, path: '/f', fh: 1 });
  pages.write(file, 0, Buffer.from('dirty'));
  const policy = { allowShort: true, generation: file.writeGeneration, cacheable: () => true };
  pages.readThrough(file, PAGE_SIZE, 2 * PAGE_SIZE, Buffer.alloc(2 * PAGE_SIZE, 1), policy);
  pages.readCached(file, PAGE_SIZE, 1, true);
  pages.readThrough(file, 3 * PAGE_SIZE, PAGE_SIZE, Buffer.alloc(PAGE_SIZE, 3), policy);
  assert.deepEqual([...file.pages.keys()].sort(), [0, 1, 3], 'page 2 was the least recently used clean page');
  assert.equal(pages.bytes, 3 * PAGE_SIZE);
});

test('thousands of evictions in a row stay fast', () => {
  const pages = new PageCache({ maxBytes: 256 * PAGE_SIZE });
  const file = pages.fileFor('ns/7', { ino: 7, path: '/f', fh: 1 });
  const chunk = Buffer.alloc(32 * PAGE_SIZE, 7);
  const started = process.hrtime.bigint();
  for (let i = 0; i < 2000; i++) {
    pages.readThrough(file, i * chunk.length, chunk.length, chunk, { allowShort: true, generation: file.writeGeneration, cacheable: () => true });
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.equal(pages.bytes, 256 * PAGE_SIZE);
  assert.ok(ms < 5000, `64,000 pages through a 256-page cache took ${ms} ms`);
});
