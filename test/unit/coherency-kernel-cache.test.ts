import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DIR_PREFETCH_BACKOFF_MS, type KernelInvalidator } from '../../src/agent/coherency/kernel-cache';
import { END_OF_FILE } from '../../src/common/byte-range';
import { HeldToken } from '../../src/agent/coherency/held-token';
import { settle, twoHosts } from './coherency-fakes.test';

/** An invalidator whose calls wait until the test lets them finish. */
function heldInvalidator() {
  const calls: Array<number | 'all' | 'epoch'> = [];
  const waiting: Array<() => void> = [];
  const inv: KernelInvalidator = {
    attrs: (ino) => {
      calls.push(ino);
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    allAttrs: async () => {
      calls.push('all');
    },
    entries: () => {
      calls.push('epoch');
    },
    pages: async () => undefined,
  };
  return { inv, calls, finish: () => waiting.splice(0).forEach((f) => f()) };
}

describe('kernel attribute cache under attr tokens (coherency side)', () => {
  it('allows caching while A holds the attr token, and invalidates before B is granted it', async () => {
    const { a, b, store } = twoHosts();
    const ino = store.create('/f', 'hello');
    const { inv, calls, finish } = heldInvalidator();
    a.core.kernel.attach(inv);
    assert.equal(a.core.kernel.attrsCacheable(ino), false, 'no token yet');
    await a.getattr('/f');
    assert.equal(a.core.kernel.attrsCacheable(ino), true);

    let truncated = false;
    const t = b.truncate('/f', 2).then(() => (truncated = true));
    await settle();
    assert.deepEqual(calls, [ino], 'A asked the kernel to drop the attributes');
    assert.equal(a.core.kernel.attrsCacheable(ino), false, 'nothing new is cached while the revoke runs');
    assert.equal(truncated, false, 'B waits until A\'s kernel dropped them');
    finish();
    await t;
    assert.equal(a.core.kernel.attrsCacheable(ino), false, 'A no longer holds the token');
    assert.equal(store.content('/f'), 'he');
  });

  it('invalidates before an idle attr token is given back, and every inode when the session is lost', async () => {
    const { a, store } = twoHosts();
    const ino = store.create('/g', 'x');
    const { inv, calls, finish } = heldInvalidator();
    a.core.kernel.attach(inv);
    await a.getattr('/g');
    const released = a.core.tokens.releaseIdle();
    await settle();
    assert.deepEqual(calls, [ino]);
    finish();
    assert.ok((await released) >= 1);
    assert.equal(a.core.kernel.attrsCacheable(ino), false);
    a.client.fence();
    await settle();
    assert.deepEqual(calls, [ino, 'epoch', 'all']);
  });

  it('at unmount keeps nothing new and drops names, attributes and every cached file\'s pages before the tokens go; later READs drop theirs', async () => {
    const { a, store } = twoHosts();
    const ino = store.create('/f', 'hello');
    const pages: Array<[number, number, number]> = [];
    const { inv, calls } = heldInvalidator();
    a.core.kernel.attach({ ...inv, pages: async (i, off, len) => { pages.push([i, off, len]); } });
    await a.getattr('/f');
    assert.equal(a.core.kernel.attrsCacheable(ino), true);
    assert.ok(a.core.kernel.openCached(ino), 'a cached open');
    await a.core.kernel.close();
    assert.deepEqual(calls, ['epoch', 'all']);
    assert.deepEqual(pages, [[ino, 0, 0]], 'the cached file\'s pages went');
    assert.equal(a.core.kernel.attrsCacheable(ino), false, 'the attr token is still held, but no timeout is given');
    assert.equal(a.core.kernel.openCached(ino), undefined, 'new opens are direct_io');
    assert.equal(a.core.kernel.entriesHold(ino), undefined);
    a.core.kernel.readAnswered(ino, a.core.kernel.readStarting(ino));
    await settle();
    assert.deepEqual(pages, [[ino, 0, 0], [ino, 0, 0]], 'a READ answered after close drops its page after the reply');
  });

  it('never allows caching under a DIRECT token', async () => {
    const { a, store, coordinator } = twoHosts();
    const ino = store.create('/h', 'x');
    await a.getattr('/h');
    assert.equal(a.core.kernel.attrsCacheable(ino), true);
    for (const g of coordinator.held(a.client, `ns/${ino}`)) g.mode = 'DIRECT';
    for (const t of a.core.tokens.tokensOf(`ns/${ino}`, 'attr')) a.core.tokens.apply(t, { released: false, mode: 'DIRECT', range: t.range, version: t.version });
    assert.equal(a.core.kernel.attrsCacheable(ino), false);
  });

  it('gives no attribute timeout to a file whose cached open read pages under DIRECT, answers its GETATTR from the store, and makes its next opens direct_io', async () => {
    const { a, store } = twoHosts();
    const ino = store.create('/p', 'abc');
    const { inv } = heldInvalidator();
    a.core.kernel.attach(inv);
    await a.getattr('/p');
    assert.equal(a.core.kernel.attrsCacheable(ino), true);
    assert.deepEqual(a.core.kernel.openCached(ino), { keepCache: false });
    const direct = new HeldToken({ lockId: 99, resource: `ns/${ino}`, space: 'data', mode: 'DIRECT', range: { start: 0, end: END_OF_FILE }, owner: '', fencingToken: { epoch: 1, counter: 99 }, uncached: false, version: 1 });
    a.core.kernel.pages.served(`ns/${ino}`, direct);
    assert.equal(a.core.kernel.attrsCacheable(ino), false, 'read(2) must ask for attributes every time');
    store.pwrite(ino, 3, Buffer.from('def')); // another host's DIRECT write: it revokes nothing of A's
    assert.equal((await a.getattr('/p')).size, 6, 'from the store, not from the attribute cache');
    assert.equal(a.core.kernel.openCached(ino), undefined, 'served under DIRECT lately: direct_io');
  });

  it('keeps names under a dir token, and drops them all (epoch) and the directory\'s attributes before another host changes it', async () => {
    const { a, b } = twoHosts();
    const { inv, calls, finish } = heldInvalidator();
    a.core.kernel.attach(inv);
    assert.equal(a.core.kernel.entriesHold(1), undefined, 'no dir token yet');
    a.core.kernel.wantEntries(1);
    await settle();
    const hold = a.core.kernel.entriesHold(1);
    assert.ok(hold !== undefined && hold.holds(), 'the background dir READ arrived');

    let created = false;
    const c = b.create('/n').then(() => (created = true));
    await settle();
    assert.deepEqual(calls, ['epoch', 1], 'A dropped its names, then asked to drop the directory\'s attributes');
    assert.equal(hold.holds(), false, 'a reply made now gets no timeout');
    assert.equal(created, false, 'B waits until A\'s kernel dropped them');
    finish();
    await c;
    assert.equal(a.core.kernel.entriesHold(1), undefined);
  });

  it('does not ask for a dir token in the background right after losing one', async () => {
    const { a, b, clock, coordinator } = twoHosts();
    a.core.kernel.wantEntries(1);
    await settle();
    await b.create('/m');
    a.core.kernel.wantEntries(1);
    await settle();
    assert.equal(coordinator.held(a.client, 'ns/1').length, 0, 'backing off');
    clock.advance(DIR_PREFETCH_BACKOFF_MS);
    a.core.kernel.wantEntries(1);
    await settle();
    assert.equal(coordinator.held(a.client, 'ns/1').length, 1);
  });

  it('with the planted bug, B is granted the token while A\'s kernel still holds the attributes', async () => {
    const { a, b, store } = twoHosts({ plantSkipKernelInvalidation: true });
    store.create('/p', 'hello');
    const { inv, calls } = heldInvalidator();
    a.core.kernel.attach(inv);
    await a.getattr('/p');
    await b.truncate('/p', 1);
    assert.deepEqual(calls, []);
  });
});
