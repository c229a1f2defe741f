import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KernelInvalidator } from '../../src/agent/coherency/kernel-cache';
import { settle, twoHosts } from './coherency-fakes.test';

/** An invalidator whose calls wait until the test lets them finish. */
function heldInvalidator() {
  const calls: Array<number | 'all'> = [];
  const waiting: Array<() => void> = [];
  const inv: KernelInvalidator = {
    attrs: (ino) => {
      calls.push(ino);
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    allAttrs: async () => {
      calls.push('all');
    },
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
    assert.deepEqual(calls, [ino, 'all']);
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
