import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SlowStore } from '../../src/chaos/cluster/slow-store';

const skip = process.getuid?.() === 0 ? false : 'needs root to mount FUSE';

test('the slow store delays every request made through it while slowed, none otherwise, and passes the data through to the store', { skip, timeout: 60_000 }, async () => {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'coherd-slow-store-'));
  const store = new SlowStore(path.join(root, 'store'), path.join(root, 'mnt'));
  await fsp.mkdir(store.storeDir);
  try {
    await store.start();
    const start = await store.setDelay(0);
    await fsp.writeFile(path.join(store.mountPoint, 'fast'), 'fast');
    assert.equal(await store.setDelay(0), start, 'no request is delayed while the delay is 0');

    const delayMs = 150;
    const before = await store.setDelay(delayMs);
    const t0 = performance.now();
    await fsp.writeFile(path.join(store.mountPoint, 'slow'), 'slow data');
    const elapsed = performance.now() - t0;
    const delayed = (await store.setDelay(0)) - before;
    assert.ok(delayed >= 3, `only ${delayed} requests were delayed (lookup/create, write, flush…)`);
    assert.ok(elapsed >= delayMs * 3 - 5, `a create-write-close through the slowed store took ${elapsed.toFixed(0)} ms`);
    assert.equal(await fsp.readFile(path.join(store.storeDir, 'slow'), 'utf8'), 'slow data');
    assert.equal(await fsp.readFile(path.join(store.storeDir, 'fast'), 'utf8'), 'fast');
  } finally {
    await store.stop();
    const mounts = await fsp.readFile('/proc/mounts', 'utf8');
    assert.ok(!mounts.includes(store.mountPoint), 'the store was unmounted');
    await fsp.rm(root, { recursive: true, force: true });
  }
});
