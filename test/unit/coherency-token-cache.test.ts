import assert from 'node:assert/strict';
import { test } from 'node:test';
import { END_OF_FILE, WHOLE_FILE } from '../../src/common/byte-range';
import { FakeClock } from '../../src/common/clock';
import type { TokenRequest } from '../../src/agent/coherency/held-token';
import { planRevoke } from '../../src/agent/coherency/revoke-plan';
import { TokenCache } from '../../src/agent/coherency/token-cache';
import { FakeCoordinator, FakeTokenClient, settle } from './coherency-fakes.test';

function setup(maxTokens?: number) {
  const clock = new FakeClock();
  const coordinator = new FakeCoordinator();
  const client = new FakeTokenClient('A', coordinator, clock);
  const cache = new TokenCache({ client, maxTokens });
  return { clock, coordinator, client, cache };
}

const data = (resource: string, mode: 'READ' | 'WRITE', start = 0, end = 4096): TokenRequest => ({ resource, space: 'data', mode, range: { start, end } });

test('a held token is found again without calling the client', async () => {
  const { client, cache } = setup();
  (await cache.use(data('ns/1', 'READ'))).done();
  assert.equal(client.acquires, 1);
  for (let i = 0; i < 100_000; i++) {
    const use = cache.tryUse(data('ns/1', 'READ', i * 8, i * 8 + 4096));
    assert.ok(use);
    use.done();
  }
  (await cache.use(data('ns/1', 'READ', 10, 20))).done();
  assert.equal(client.acquires, 1);
  assert.equal(client.converts, 0);
});

test('concurrent identical requests go out once', async () => {
  const { client, cache } = setup();
  const uses = await Promise.all([cache.use(data('ns/1', 'READ')), cache.use(data('ns/1', 'READ')), cache.use(data('ns/1', 'READ', 100, 200))]);
  assert.equal(client.acquires, 1);
  assert.equal(new Set(uses.map((u) => u.token)).size, 1);
  for (const u of uses) u.done();
});

test('a WRITE need beside a held READ token takes a new lock, never a conversion; the READ one goes back once covered', async () => {
  const { client, cache } = setup();
  const r = await cache.use(data('ns/1', 'READ'));
  r.done();
  const w = await cache.use(data('ns/1', 'WRITE', 0, 10));
  assert.equal(client.converts, 0, 'a conversion would reshape the lock before this host knew');
  assert.equal(client.acquires, 2);
  assert.notEqual(w.token.lockId, r.token.lockId);
  assert.equal(w.token.mode, 'WRITE');
  assert.deepEqual(w.token.range, WHOLE_FILE, 'alone on the file, the WRITE grant is the whole file');
  assert.deepEqual(client.lazyReleases, [r.token.lockId], 'the idle READ token it covers is given back');
  w.done();
});

test('under contention the WRITE token covers only the range needed and the other reader keeps its token', async () => {
  const { clock, coordinator, client, cache } = setup();
  const other = new FakeTokenClient('B', coordinator, clock);
  const r = await cache.use(data('ns/1', 'READ'));
  r.done();
  coordinator.expand = false;
  await other.acquire({ resource: 'ns/1', space: 'data', mode: 'READ', range: { start: 8192, end: 12288 } });
  const w = await cache.use(data('ns/1', 'WRITE', 0, 10));
  assert.equal(client.converts, 0);
  assert.deepEqual(w.token.range, { start: 0, end: 10 });
  assert.ok(cache.find(data('ns/1', 'READ', 100, 200)), 'the READ token stays beside it');
  assert.equal(coordinator.held(other).length, 1, 'the other reader was not revoked');
  w.done();
});

test('idle tokens beyond the limit are returned, least recently used first', async () => {
  const { client, cache } = setup(3);
  const ids: number[] = [];
  for (let i = 1; i <= 5; i++) {
    const use = await cache.use(data(`ns/${i}`, 'READ'));
    ids.push(use.token.lockId);
    use.done();
  }
  await settle();
  assert.equal(cache.size, 3);
  assert.deepEqual(client.lazyReleases, ids.slice(0, 2));
  assert.ok(cache.find(data('ns/5', 'READ')));
  assert.equal(cache.find(data('ns/1', 'READ')), undefined);
});

test('tokens in use are not returned, whatever the limit', async () => {
  const { client, cache } = setup(1);
  const busy = await cache.use(data('ns/1', 'READ'));
  const other = await cache.use(data('ns/2', 'READ'));
  await settle();
  assert.equal(client.lazyReleases.length, 0);
  other.done();
  await settle();
  assert.deepEqual(client.lazyReleases, [other.token.lockId]);
  busy.done();
});

test('releaseIdle returns idle tokens when asked', async () => {
  const { client, cache } = setup();
  (await cache.use(data('ns/1', 'READ'))).done();
  const kept = await cache.use(data('ns/2', 'READ'));
  assert.equal(await cache.releaseIdle(), 1);
  assert.equal(client.lazyReleases.length, 1);
  assert.equal(cache.size, 1);
  kept.done();
});

test('a blocked token makes new uses of the range wait until it is unblocked', async () => {
  const { cache } = setup();
  const use = await cache.use(data('ns/1', 'READ'));
  use.done();
  use.token.block({ start: 0, end: 100 });
  assert.equal(cache.tryUse(data('ns/1', 'READ', 0, 10)), undefined);
  assert.ok(cache.tryUse(data('ns/1', 'READ', 200, 300)), 'outside the blocked range');
  let got = false;
  const waiting = cache.use(data('ns/1', 'READ', 0, 10)).then((u) => {
    got = true;
    return u;
  });
  await settle();
  assert.equal(got, false);
  use.token.unblock();
  (await waiting).done();
});

test('waitIdle resolves once the overlapping in-flight uses are done', async () => {
  const { cache } = setup();
  const a = await cache.use(data('ns/1', 'READ', 0, 10));
  const b = cache.tryUse(data('ns/1', 'READ', 5000, 6000))!;
  let idle = false;
  void a.token.waitIdle({ start: 0, end: 100 }).then(() => (idle = true));
  await settle();
  assert.equal(idle, false);
  a.done();
  await settle();
  assert.equal(idle, true, 'a use outside the range does not hold it');
  b.done();
});

test('planRevoke keeps the contiguous rest, downgrades for readers, releases attr tokens, and names the version it planned against', () => {
  const token = { space: 'data' as const, mode: 'WRITE' as const, range: { start: 0, end: END_OF_FILE }, version: 7 };
  assert.deepEqual(planRevoke(token, { start: 4096, end: END_OF_FILE }, 'WRITE'), { released: false, mode: 'WRITE', range: { start: 0, end: 4096 }, version: 7 });
  assert.deepEqual(planRevoke(token, { start: 0, end: 4096 }, 'WRITE'), { released: false, mode: 'WRITE', range: { start: 4096, end: END_OF_FILE }, version: 7 });
  assert.deepEqual(planRevoke(token, { start: 4096, end: 8192 }, 'WRITE'), { released: false, mode: 'WRITE', range: { start: 8192, end: END_OF_FILE }, version: 7 });
  assert.deepEqual(planRevoke(token, WHOLE_FILE, 'WRITE'), { released: true });
  assert.deepEqual(planRevoke(token, { start: 0, end: 10 }, 'READ'), { released: false, mode: 'READ', range: token.range, version: 7 });
  assert.deepEqual(planRevoke({ space: 'attr', mode: 'READ', range: WHOLE_FILE, version: 1 }, WHOLE_FILE, 'WRITE'), { released: true });
});

test('while this host\'s kernel caches a file its data and attr tokens are asked for noDirect: a direct-mode file gets caching tokens', async () => {
  const { coordinator, client, cache } = setup();
  coordinator.direct.add('ns/1').add('ns/2');
  cache.setListener({ retiring: async () => undefined, coverageLost: () => undefined, lost: () => undefined, kernelCaches: (r) => r === 'ns/1' });
  const sent: boolean[] = [];
  const acquire = client.acquire.bind(client);
  client.acquire = (o) => { sent.push(o.noDirect === true); return acquire(o); };
  const cached = await cache.use(data('ns/1', 'READ'));
  assert.equal(cached.token.mode, 'READ');
  cached.done();
  const attr = await cache.use({ resource: 'ns/1', space: 'attr', mode: 'READ', range: WHOLE_FILE });
  assert.equal(attr.token.mode, 'READ');
  attr.done();
  const other = await cache.use(data('ns/2', 'READ'));
  assert.equal(other.token.mode, 'DIRECT', 'a file the kernel does not cache is DIRECT as before');
  other.done();
  assert.deepEqual(sent, [true, true, false]);
});

test('a DIRECT grant that arrives after the kernel began caching the file goes back, and the request is made again with noDirect', async () => {
  const { coordinator, client, cache } = setup();
  coordinator.direct.add('ns/1');
  let caching = false;
  cache.setListener({ retiring: async () => undefined, coverageLost: () => undefined, lost: () => undefined, kernelCaches: () => caching });
  const acquire = client.acquire.bind(client);
  client.acquire = (o) => { const p = acquire(o); caching = true; return p; }; // the open is answered while the acquire is in flight
  const use = await cache.use(data('ns/1', 'READ'));
  assert.equal(use.token.mode, 'READ');
  assert.equal(client.acquires, 2);
  assert.equal(client.lazyReleases.length, 1, 'the DIRECT grant was given back');
  assert.equal(cache.isDirect('ns/1', 'data'), false);
  use.done();
});
