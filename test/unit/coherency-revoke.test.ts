import assert from 'node:assert/strict';
import { test } from 'node:test';
import { END_OF_FILE, WHOLE_FILE } from '../../src/common/byte-range';
import { PAGE_SIZE } from '../../src/agent/coherency/page';
import { settle, twoHosts } from './coherency-fakes.test';

test('a revoke of part of a WRITE token flushes only what it gives up and keeps the rest buffered', async () => {
  const { coordinator, store, a, b } = twoHosts();
  store.create('/f', '.'.repeat(3 * PAGE_SIZE));
  const fa = await a.open('/f');
  await a.write(fa, 0, 'AAAA');
  await a.write(fa, 2 * PAGE_SIZE, 'CCCC');
  const fb = await b.open('/f');
  await b.write(fb, PAGE_SIZE, 'b');
  const held = coordinator.held(a.client, `ns/${store.ino('/f')}`).find((g) => g.space === 'data');
  assert.deepEqual(held?.range, { start: PAGE_SIZE + 1, end: END_OF_FILE }, 'A keeps the larger side');
  assert.equal(store.content('/f').slice(0, 4), 'AAAA', 'the given-up part was flushed');
  assert.equal(store.content('/f').slice(2 * PAGE_SIZE, 2 * PAGE_SIZE + 4), '....', 'the kept part is still buffered');
  await a.fsync(fa);
  await b.fsync(fb);
  const content = store.content('/f');
  assert.equal(content[PAGE_SIZE], 'b');
  assert.equal(content.slice(2 * PAGE_SIZE, 2 * PAGE_SIZE + 4), 'CCCC');
});

test('a reader wanting READ downgrades the writer, which keeps its clean pages', async () => {
  const { coordinator, store, a, b } = twoHosts();
  store.create('/f', 'abcdef');
  const fa = await a.open('/f');
  assert.equal(await a.read(fa, 0, 6), 'abcdef');
  await a.write(fa, 0, 'X');
  const fb = await b.open('/f');
  assert.equal(await b.read(fb, 0, 6), 'Xbcdef');
  const ino = store.ino('/f');
  const mine = coordinator.held(a.client, `ns/${ino}`).find((g) => g.space === 'data');
  assert.equal(mine?.mode, 'READ');
  const pwrites = store.pwrites.length;
  store.pwrite(ino, 5, Buffer.from('!')); // not through any agent: a cached read does not see it
  assert.equal(await a.read(fa, 0, 6), 'Xbcdef');
  assert.equal(store.pwrites.length, pwrites + 1);
});

test('returning an idle token over the limit flushes the dirty data it protected', async () => {
  const { store, a } = twoHosts({ maxTokens: 2 });
  store.create('/f1', '');
  store.create('/f2', 'two');
  const f1 = await a.open('/f1');
  await a.write(f1, 0, 'dirty');
  assert.equal(store.content('/f1'), '');
  const f2 = await a.open('/f2');
  assert.equal(await a.read(f2, 0, 3), 'two');
  await settle();
  assert.equal(store.content('/f1'), 'dirty');
  assert.ok(a.core.tokens.size <= 2);
});

test('after the session is replaced the agent serves ops again', async () => {
  const { store, a } = twoHosts();
  store.create('/f', 'data');
  const fa = await a.open('/f');
  a.client.fence();
  await assert.rejects(a.read(fa, 0, 4));
  (a.client as unknown as { fenced: boolean }).fenced = false;
  a.client.emit('session', 'A2');
  assert.equal(await a.read(fa, 0, 4), 'data');
});

test('a write that extends the file takes attr WRITE; one inside it needs only attr READ', async () => {
  const { coordinator, store, a } = twoHosts();
  store.create('/f', 'abcdef');
  const fa = await a.open('/f');
  await a.write(fa, 0, 'X');
  const ino = store.ino('/f');
  assert.equal(coordinator.held(a.client, `ns/${ino}`).find((g) => g.space === 'attr')?.mode, 'READ');
  await a.write(fa, 6, 'Y');
  assert.equal(coordinator.held(a.client, `ns/${ino}`).find((g) => g.space === 'attr')?.mode, 'WRITE');
  assert.equal((await a.getattr('/f')).size, 7);
});

test('two hosts reading the same file both cache it under shared READ tokens', async () => {
  const { coordinator, store, a, b } = twoHosts();
  store.create('/f', 'shared');
  const fa = await a.open('/f');
  const fb = await b.open('/f');
  assert.equal(await a.read(fa, 0, 6), 'shared');
  assert.equal(await b.read(fb, 0, 6), 'shared');
  assert.equal(await a.read(fa, 0, 6), 'shared');
  assert.equal(coordinator.revokes.length, 0);
  const grants = coordinator.held(a.client).concat(coordinator.held(b.client));
  assert.ok(grants.every((g) => g.mode === 'READ' && g.range.end === END_OF_FILE));
});

test('unlinking a file drops every host\'s cached data of its inode (inode numbers are reused)', async () => {
  const { store, a, b } = twoHosts();
  const ino = store.create('/f', 'old content');
  const fb = await b.open('/f');
  assert.equal(await b.read(fb, 0, 11), 'old content');
  await b.release(fb);
  await a.unlink('/f');
  // The backing store reuses the inode number for a new file.
  store.files.set(ino, { data: Buffer.from('new content'), mode: store.file(ino).mode, mtimeMs: 9 });
  store.paths.set('/g', ino);
  const gb = await b.open('/g');
  assert.equal(await b.read(gb, 0, 11), 'new content');
});

test('giving up a READ token keeps the dirty bytes an overlapping WRITE token of the same host protects', async () => {
  const { coordinator, store, a, b } = twoHosts();
  store.create('/f', '.'.repeat(2 * PAGE_SIZE));
  coordinator.expand = false; // exact ranges: A ends up with a READ token over its WRITE token's bytes
  const fa = await a.open('/f');
  assert.equal(await a.read(fa, 0, 100), '.'.repeat(100)); // READ [0, 4096)
  await a.write(fa, 0, 'AAAA'); // WRITE [0, 4) beside it, buffered
  const key = `ns/${store.ino('/f')}`;
  const spaces = coordinator.held(a.client, key).filter((g) => g.space === 'data').map((g) => `${g.mode} [${g.range.start}, ${g.range.end})`);
  assert.deepEqual(spaces.sort(), ['READ [0, 4096)', 'WRITE [0, 4)']);
  // B writes elsewhere in the page: A's READ token is revoked, its WRITE token is not.
  const fb = await b.open('/f');
  await b.write(fb, 1000, 'b');
  await settle();
  await a.fsync(fa);
  await b.fsync(fb);
  const content = store.content('/f');
  assert.equal(content.slice(0, 4), 'AAAA', 'A\'s buffered write reached the store');
  assert.equal(content[1000], 'b');
});

test('a revoke that wants DIRECT (the file is in direct mode on another host) makes this host\'s next opens of it direct_io', async () => {
  const { coordinator, store, a } = twoHosts();
  store.create('/f', 'abcdef');
  const fa = await a.open('/f');
  assert.equal(await a.read(fa, 0, 6), 'abcdef');
  const key = `ns/${store.ino('/f')}`;
  assert.equal(a.core.kernel.pages.mayCache(key), true, 'not contended yet');
  const token = coordinator.held(a.client, key).find((g) => g.space === 'data');
  assert.ok(token);
  const answer = await a.client.deliverRevoke({ lockId: token.lockId, range: WHOLE_FILE, wantedMode: 'DIRECT', attempt: 1, deadlineMs: 5000, version: token.version });
  assert.equal(answer.released, true, 'a DIRECT waiter takes the whole token');
  assert.equal(a.core.kernel.pages.mayCache(key), false, 'opens of a file in direct mode elsewhere are direct_io');
});
