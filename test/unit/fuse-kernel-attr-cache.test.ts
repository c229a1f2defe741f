import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constants } from 'node:os';
import { FakeClock } from '../../src/common/clock';
import { silentLogger } from '../../src/common/logger';
import { ATTR_TIMEOUT_S, KernelAttrCache } from '../../src/agent/fuse/ll/kernel-attr-cache';
import { PathNodeTable } from '../../src/agent/fuse/ll/path-node-table';
import type { VopStat } from '../../src/agent/vop';

const ENOENT = -constants.errno.ENOENT;
const file = { mode: 0o100644 } as VopStat;
const dir = { mode: 0o040755 } as VopStat;
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(cacheable = true, leaseLeftMs = 10_000, dirHeld = () => false) {
  const clock = new FakeClock(1000);
  const nodes = new PathNodeTable(1);
  const calls: Array<[number, number, number]> = [];
  /** Per call: whether the notifier was told the node is a directory. */
  const directories: boolean[] = [];
  const answers: number[] = [];
  const link = {
    attrsCacheable: () => cacheable,
    leaseLeftMs: () => leaseLeftMs,
    attach: () => undefined,
    entriesHold: () => ({ holds: dirHeld }),
    attrHold: () => undefined,
    wantEntries: () => undefined,
    openCached: () => undefined,
    holdForMapping: async () => false,
    mapsWritable: () => false,
    pagesWritten: () => undefined,
    releasedCached: () => undefined,
    readStarting: () => undefined,
    readAnswered: () => undefined,
    writeStarting: () => undefined,
    written: async () => undefined,
    truncated: async () => undefined,
    close: async () => undefined,
  };
  const cache = new KernelAttrCache(nodes, link, clock, silentLogger());
  cache.setNotifier({
    invalidateInode: async (ino, off, len, directory) => {
      calls.push([ino, off, len]);
      directories.push(directory === true);
      return answers.shift() ?? 0;
    },
  });
  return { clock, nodes, calls, directories, answers, cache };
}

describe('kernel attribute cache (FUSE side)', () => {
  it('gives files a timeout while the coherency layer allows it, a directory none without its dir token', () => {
    const { nodes, cache } = setup();
    assert.equal(cache.timeoutFor(nodes.ref(10, '/f'), file), ATTR_TIMEOUT_S);
    assert.equal(cache.timeoutFor(nodes.ref(11, '/d'), dir), 0);
    assert.equal(setup(false).cache.timeoutFor(nodes.ref(12, '/g'), file), 0);
  });

  it('gives a directory a timeout only under a dir token held from before the stat to the reply', () => {
    let held = true;
    const { nodes, cache } = setup(true, 10_000, () => held);
    const d = nodes.ref(11, '/d');
    assert.equal(cache.since(d)(dir), ATTR_TIMEOUT_S);
    const pending = cache.since(d);
    held = false; // revoked while the stat ran
    assert.equal(pending(dir), 0);
    assert.equal(cache.timeoutFor(d, dir), 0, 'a lookup reply (no dir token from before) never caches a directory');
  });

  it('never lets a timeout outlive the lease: a paused agent could not invalidate past its deadline', () => {
    const near = setup(true, 600);
    assert.equal(near.cache.timeoutFor(near.nodes.ref(10, '/f'), file), 0.5, 'the lease left (600 ms) less the 100 ms margin');
    const over = setup(true, 80);
    assert.equal(over.cache.timeoutFor(over.nodes.ref(10, '/f'), file), 0, 'nothing within the margin');
  });

  it('invalidates attributes only (offset -1) of the node that got a timeout, and nothing for one that did not', async () => {
    const { nodes, calls, cache } = setup();
    const n = nodes.ref(10, '/f');
    nodes.ref(11, '/g');
    cache.timeoutFor(n, file);
    await cache.attrs(11);
    await cache.attrs(99);
    assert.deepEqual(calls, []);
    await cache.attrs(10);
    assert.deepEqual(calls, [[n.id, -1, 0]]);
    await cache.attrs(10); // already dropped, nothing given since
    assert.equal(calls.length, 1);
  });

  it('says which invalidations are of a directory (they need no drop mark: no open of one is cached)', async () => {
    const { nodes, calls, directories, cache } = setup(true, 10_000, () => true);
    const f = nodes.ref(10, '/f');
    const d = nodes.ref(11, '/d');
    cache.timeoutFor(f, file);
    cache.since(d)(dir);
    await cache.attrs(11);
    await cache.attrs(10);
    assert.deepEqual(calls, [[d.id, -1, 0], [f.id, -1, 0]]);
    assert.deepEqual(directories, [true, false]);
  });

  it('retries an ENOENT while the kernel holds references (it is still making the inode), until the kernel has it', async () => {
    const { clock, nodes, calls, answers, cache } = setup();
    const n = nodes.ref(10, '/f');
    cache.timeoutFor(n, file);
    answers.push(ENOENT, ENOENT, 0);
    let done = false;
    void cache.attrs(10).then(() => (done = true));
    for (let i = 0; i < 10 && !done; i++) {
      await flush();
      clock.advance(5);
    }
    assert.equal(done, true);
    assert.equal(calls.length, 3);
  });

  it('stops retrying once the kernel forgot the node', async () => {
    const { clock, nodes, calls, answers, cache } = setup();
    const n = nodes.ref(10, '/f');
    cache.timeoutFor(n, file);
    answers.push(ENOENT, ENOENT, ENOENT, ENOENT);
    let done = false;
    void cache.attrs(10).then(() => (done = true));
    await flush();
    nodes.forget(n.id, 1);
    for (let i = 0; i < 10 && !done; i++) {
      clock.advance(5);
      await flush();
    }
    assert.equal(done, true);
    assert.equal(calls.length, 2);
  });

  it('gives up an ENOENT once the reply\'s timeout and a second more have run out', async () => {
    const { clock, nodes, answers, cache } = setup();
    cache.timeoutFor(nodes.ref(10, '/f'), file);
    for (let i = 0; i < 1000; i++) answers.push(ENOENT);
    let done = false;
    void cache.attrs(10).then(() => (done = true));
    for (let i = 0; i < 100 && !done; i++) {
      await flush();
      clock.advance(50);
    }
    assert.equal(done, true);
    assert.ok(clock.nowMs() >= 1000 + ATTR_TIMEOUT_S * 1000 + 1000);
  });
});
