import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LARGE_IO_BYTES } from '../../src/agent/coherency/large-io';
import { PAGE_SIZE } from '../../src/agent/coherency/page';
import { settle, twoHosts } from './coherency-fakes.test';

const big = (c: string, n = LARGE_IO_BYTES): string => c.repeat(n);

test('a large write stays buffered, so a write(2) split into several requests is never half written', async () => {
  const { store, a } = twoHosts();
  store.create('/f', '');
  const fa = await a.open('/f');
  await a.write(fa, 0, big('N'));
  await a.write(fa, LARGE_IO_BYTES, big('N'));
  assert.equal(store.pwrites.length, 0, 'nothing reached the backing store before the flush');
  await a.fsync(fa);
  assert.deepEqual(store.pwrites.map((w) => w.length), [2 * LARGE_IO_BYTES], 'one coalesced pwrite');
});

test('a large read after a small cached read returns the backing bytes and the cached ones alike', async () => {
  const { store, a } = twoHosts();
  store.create('/f', big('o', 2 * PAGE_SIZE) + big('p'));
  const fa = await a.open('/f');
  assert.equal(await a.read(fa, 0, 4), 'oooo', 'cached');
  const got = await a.read(fa, 0, LARGE_IO_BYTES);
  assert.equal(got, big('o', 2 * PAGE_SIZE) + big('p', LARGE_IO_BYTES - 2 * PAGE_SIZE));
});

test('a large read sees this host\'s buffered writes, in range and beyond it', async () => {
  const { store, a } = twoHosts();
  store.create('/f', big('.', 8));
  const fa = await a.open('/f');
  await a.write(fa, 2, 'AB');
  await a.write(fa, 2 * LARGE_IO_BYTES, 'Z');
  const got = await a.read(fa, 0, LARGE_IO_BYTES);
  assert.equal(got.length, LARGE_IO_BYTES, 'the file is longer than the backing file was: the rest is a hole');
  assert.equal(got.slice(0, 10), '..AB....\0\0');
});

test('another host reads a large write', async () => {
  const { store, a, b } = twoHosts();
  store.create('/f', '');
  const fa = await a.open('/f');
  const fb = await b.open('/f');
  await a.write(fa, 0, big('N'));
  assert.equal(await b.read(fb, LARGE_IO_BYTES - 3, 10), 'NNN');
  assert.equal((await b.read(fb, 0, LARGE_IO_BYTES)).length, LARGE_IO_BYTES);
});

test('a sequential small read reads ahead into the cache', async () => {
  const { store, a } = twoHosts();
  store.create('/f', big('r', 16 * PAGE_SIZE));
  const fa = await a.open('/f');
  for (let offset = 0; offset < 16 * PAGE_SIZE; offset += PAGE_SIZE) assert.equal(await a.read(fa, offset, PAGE_SIZE), big('r', PAGE_SIZE));
  assert.equal(store.preads.length, 1, 'one backing read for 16 sequential page reads');
  assert.ok(store.preads[0].length > PAGE_SIZE);
});

test('read-ahead caches nothing the token does not cover', async () => {
  const { coordinator, store, a, b } = twoHosts();
  coordinator.expand = false;
  store.create('/f', big('r', 4 * PAGE_SIZE));
  const fa = await a.open('/f');
  const fb = await b.open('/f');
  assert.equal(await a.read(fa, 0, PAGE_SIZE), big('r', PAGE_SIZE));
  assert.equal(store.preads.at(-1)?.length, PAGE_SIZE, 'no bytes read ahead past the token');
  await b.write(fb, PAGE_SIZE, 'W');
  await b.fsync(fb);
  assert.equal(await a.read(fa, PAGE_SIZE, 2), 'Wr');
});

test('a create asks for the new file\'s attr and data tokens at once, before they are needed', async () => {
  const { coordinator, store, a } = twoHosts();
  const fh = await a.create('/new');
  await settle();
  const ino = store.ino('/new');
  const held = coordinator.held(a.client, `ns/${ino}`).map((g) => `${g.space} ${g.mode}`).sort();
  assert.deepEqual(held, ['attr WRITE', 'data WRITE']);
  const grants = coordinator.grants.size;
  await a.getattr('/new');
  await a.write(fh, 0, 'hello');
  await a.release(fh);
  assert.equal(coordinator.grants.size, grants, 'stat, write and close of the new file needed no more grants');
  assert.equal(store.content('/new'), 'hello');
});

test('a vop that needs several missing tokens asks for them together', async () => {
  const { coordinator, store, a } = twoHosts();
  store.create('/f', 'x');
  const fa = await a.open('/f');
  let inFlight = 0;
  let most = 0;
  const acquire = coordinator.acquire.bind(coordinator);
  coordinator.acquire = async (client, o) => {
    most = Math.max(most, ++inFlight);
    try {
      await settle(2);
      return await acquire(client, o);
    } finally {
      inFlight--;
    }
  };
  await a.write(fa, 0, 'y');
  assert.equal(most, 2, 'data WRITE and attr READ in flight together');
});
