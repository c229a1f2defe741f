import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { silentLogger } from '../../src/common/logger';
import { BackingStore } from '../../src/agent/backing/backing-store';
import type { RequestContext } from '../../src/agent/fuse/ll/low-level-ops';
import { recordedLowLevelOps } from './support/recorded-ll-ops';

/**
 * GETATTR of a node the kernel knows, without a handle (the permission
 * check of a directory before every create, docs/fuse.md "Creates, third
 * pass"): the chain runs on the node's inode, so its tokens are the ones
 * held, and the store stats the path once under them.
 */
let dir: string;
let store: BackingStore;
const ctx: RequestContext = { uid: 0, gid: 0, pid: 1, umask: 0o22, signal: new AbortController().signal };

before(async () => {
  dir = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-getattr-'));
  store = await BackingStore.open({ dir, logger: silentLogger() });
});

after(async () => {
  await store.close();
  await fsp.rm(dir, { recursive: true, force: true });
});


describe('GETATTR of a known node', () => {
  it('stats a directory once, on the node\'s inode', async () => {
    await fsp.mkdir(nodePath.join(dir, 'small'));
    const { ops, nodes, ran, lstats, restore } = await recordedLowLevelOps(store, dir);
    try {
      const entry = await ops.lookup!(ctx, 1, 'small');
      const node = nodes.get(entry.ino)!;
      ran.length = 0;
      lstats.count = 0;
      const { attr } = await ops.getattr!(ctx, entry.ino);
      assert.equal(attr.ino, node.ino);
      assert.equal(lstats.count, 1, 'one lstat: none to find an inode the node already names');
      assert.deepEqual(ran.map((r) => [r.vop.op, r.vop.ino]), [['getattr', node.ino]], 'the chain ran on the node\'s inode');
    } finally {
      restore();
    }
  });

  it('answers the inode the path names now, as before, when another host replaced it, and never hands that inode\'s stat to the node\'s tokens', async () => {
    await fsp.writeFile(nodePath.join(dir, 'f'), 'old');
    const { ops, nodes, ran, restore } = await recordedLowLevelOps(store, dir);
    try {
      const entry = await ops.lookup!(ctx, 1, 'f');
      const node = nodes.get(entry.ino)!;
      await fsp.writeFile(nodePath.join(dir, 'f.new'), 'newer');
      await fsp.rename(nodePath.join(dir, 'f.new'), nodePath.join(dir, 'f')); // another host's rename(tmp, name)
      const now = (await fsp.lstat(nodePath.join(dir, 'f'))).ino;
      assert.notEqual(now, node.ino);
      ran.length = 0;
      const { attr } = await ops.getattr!(ctx, entry.ino);
      assert.equal(attr.ino, now);
      assert.equal(attr.size, 5);
      const onNode = ran.filter((r) => r.vop.ino === node.ino);
      assert.deepEqual(onNode.map((r) => [r.vop.op, r.error]), [['getattr', 'ESTALE']], 'the run under the node\'s inode got no stat of another inode');
      assert.deepEqual(ran.filter((r) => r.vop.ino === now).map((r) => r.vop.op), ['getattr']);
    } finally {
      restore();
    }
  });

  it('answers ENOENT for a node whose path is gone', async () => {
    await fsp.writeFile(nodePath.join(dir, 'g'), 'x');
    const { ops, restore } = await recordedLowLevelOps(store, dir);
    try {
      const entry = await ops.lookup!(ctx, 1, 'g');
      await fsp.unlink(nodePath.join(dir, 'g'));
      await assert.rejects(ops.getattr!(ctx, entry.ino), (e: { code?: string }) => e.code === 'ENOENT');
    } finally {
      restore();
    }
  });
});
