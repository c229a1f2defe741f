import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NEW_FILE_TOKENS_WAIT_MS } from '../../src/agent/coherency/new-file-tokens';
import type { AcquireOptions } from '../../src/agent/client/types';
import { settle, twoHosts } from './coherency-fakes.test';

/** Counts A's acquires, and the most that were in flight at once. */
function countAcquires(client: { acquire(o: AcquireOptions): Promise<unknown> }) {
  const seen = { total: 0, inFlight: 0, maxInFlight: 0 };
  const acquire = client.acquire.bind(client);
  client.acquire = (o: AcquireOptions) => {
    seen.total++;
    seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight);
    return acquire(o).finally(() => seen.inFlight--);
  };
  return seen;
}

/** Counts the backing store's stats. */
function countStats(store: { stat(ino: number): Promise<unknown> }) {
  const seen = { stats: 0 };
  const stat = store.stat.bind(store);
  store.stat = (ino: number) => {
    seen.stats++;
    return stat(ino);
  };
  return seen;
}

test('a create holds its new file\'s attr WRITE and data WRITE tokens when it returns, asked for in one round trip', async () => {
  const { coordinator, store, a } = twoHosts();
  await a.release(await a.create('/warm')); // the root's dir WRITE token is held from here on
  const acquires = countAcquires(a.client);
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const acquire = a.client.acquire.bind(a.client);
  a.client.acquire = async (o) => { await gate; return acquire(o); }; // the grants are on their way
  let returned = false;
  const created = a.create('/f').then(() => (returned = true));
  await settle();
  assert.equal(returned, false, 'the create waits for its grants');
  open();
  await created;
  const held = coordinator.held(a.client, `ns/${store.ino('/f')}`).map((g) => `${g.space} ${g.mode}`).sort();
  assert.deepEqual(held, ['attr WRITE', 'data WRITE']);
  assert.equal(acquires.total, 2, 'one acquire per token, nothing else');
  assert.equal(acquires.maxInFlight, 2, 'both asked for together');
});

test('the stat and the write after a create ask nobody and stat nothing: the create\'s attributes are kept under its tokens', async () => {
  const { store, a } = twoHosts();
  await a.release(await a.create('/warm'));
  const fh = await a.create('/f');
  const acquires = countAcquires(a.client);
  const stats = countStats(store);
  assert.equal((await a.getattr('/f')).size, 0);
  await a.write(fh, 0, 'hello');
  assert.equal((await a.getattr('/f')).size, 5, 'the size includes the buffered write');
  await a.flush(fh);
  await a.release(fh);
  assert.equal(store.content('/f'), 'hello');
  assert.deepEqual({ acquires: acquires.total, stats: stats.stats }, { acquires: 0, stats: 0 });
});

test('a create whose inode another host still holds tokens of answers after a bounded wait, caching nothing', async () => {
  const { clock, coordinator, store, a, b } = twoHosts();
  await a.release(await a.create('/warm'));
  const next = `ns/${store.create('/probe') + 1}`; // the inode number the next create gets
  await b.client.acquire({ resource: next, space: 'attr', mode: 'WRITE' });
  b.client.setRevokeHandler(() => new Promise(() => undefined)); // B never answers (until it is evicted)
  let done = false;
  const created = a.create('/f').then((fh) => { done = true; return fh; });
  await settle();
  assert.equal(done, false, 'waits for the tokens first');
  clock.advance(NEW_FILE_TOKENS_WAIT_MS);
  const fh = await created;
  assert.equal(`ns/${store.ino('/f')}`, next);
  assert.equal(a.core.attrs.get(next), undefined, 'attributes read before the tokens are not cached');
  assert.ok(!coordinator.held(a.client, next).some((g) => g.space === 'attr'), 'B still holds attr WRITE');
  assert.ok(fh > 0);
});
