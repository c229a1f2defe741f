import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { silentLogger } from '../../src/common/logger';
import { BackingStore } from '../../src/agent/backing/backing-store';
import { VopBuilder } from '../../src/agent/fuse/vop-builder';
import { PathNodeTable } from '../../src/agent/fuse/ll/path-node-table';
import { vopLowLevelOps } from '../../src/agent/fuse/ll/vop-low-level-ops';
import type { RequestContext } from '../../src/agent/fuse/ll/low-level-ops';
import type { Vop, VopResult } from '../../src/agent/vop';

/**
 * LOOKUP of a name (the negative one before every create): the check that
 * the directory's path still leads to its node (kernel-entry-cache rule)
 * comes from the lookup's own round trip, and a directory directly under
 * the root needs no realpath (docs/fuse.md, "Creates, third pass").
 */
let dir: string;
let store: BackingStore;
const ctx: RequestContext = { uid: 0, gid: 0, pid: 1, umask: 0o22, signal: new AbortController().signal };
const KEPT_S = 5;

before(async () => {
  dir = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-lookup-'));
  store = await BackingStore.open({ dir, logger: silentLogger() });
  await fsp.mkdir(nodePath.join(dir, 'top', 'sub'), { recursive: true });
});

after(async () => {
  await store.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

/** Ops whose entry replies are kept KEPT_S seconds when the lookup is sure; counts fs calls made meanwhile. */
async function mount() {
  const run = (vop: Vop): Promise<VopResult> => store.execute(vop);
  const nodes = new PathNodeTable((await fsp.stat(dir)).ino);
  const ops = vopLowLevelOps(run as never, new VopBuilder(store, new AbortController().signal), nodes, { entry: () => () => KEPT_S });
  const calls: string[] = [];
  const { realpath, lstat } = fs.promises;
  fs.promises.realpath = ((p: string) => { calls.push(`realpath ${nodePath.relative(dir, p)}`); return realpath(p); }) as typeof realpath;
  fs.promises.lstat = ((p: string, o?: fs.StatOptions) => { calls.push(`lstat ${nodePath.relative(dir, p)}`); return lstat(p, o); }) as typeof lstat;
  const restore = () => { fs.promises.realpath = realpath; fs.promises.lstat = lstat; };
  return { ops, calls, restore };
}

describe('LOOKUP of a name in a directory', () => {
  it('directly under the root: two lstats, no realpath, and a missing name is kept', async () => {
    const { ops, calls, restore } = await mount();
    try {
      const top = await ops.lookup!(ctx, 1, 'top');
      calls.length = 0;
      const e = await ops.lookup!(ctx, top.ino, 'nope');
      assert.deepEqual({ ino: e.ino, entryTimeout: e.entryTimeout }, { ino: 0, entryTimeout: KEPT_S });
      assert.deepEqual(calls.sort(), ['lstat top', 'lstat top/nope']);
    } finally {
      restore();
    }
  });

  it('deeper: the realpath as before, the directory\'s lstat beside it, and a missing name is kept', async () => {
    const { ops, calls, restore } = await mount();
    try {
      const top = await ops.lookup!(ctx, 1, 'top');
      const sub = await ops.lookup!(ctx, top.ino, 'sub');
      calls.length = 0;
      const e = await ops.lookup!(ctx, sub.ino, 'nope');
      assert.deepEqual({ ino: e.ino, entryTimeout: e.entryTimeout }, { ino: 0, entryTimeout: KEPT_S });
      assert.deepEqual(calls.sort(), ['lstat top/sub', 'lstat top/sub/nope', 'realpath top/sub']);
    } finally {
      restore();
    }
  });

  it('keeps nothing found through a directory path another host gave to another directory', async () => {
    await fsp.mkdir(nodePath.join(dir, 'moved'));
    const { ops, restore } = await mount();
    try {
      const moved = await ops.lookup!(ctx, 1, 'moved');
      await fsp.rename(nodePath.join(dir, 'moved'), nodePath.join(dir, 'moved.old'));
      await fsp.mkdir(nodePath.join(dir, 'moved'));
      await fsp.writeFile(nodePath.join(dir, 'moved', 'x'), '');
      await assert.rejects(ops.lookup!(ctx, moved.ino, 'nope'), (e: { code?: string }) => e.code === 'ENOENT', 'not a kept negative entry');
      const x = await ops.lookup!(ctx, moved.ino, 'x');
      assert.ok(x.ino > 0);
      assert.equal(x.entryTimeout, 0, 'found, but not kept');
    } finally {
      restore();
    }
  });

  it('refuses a name in a directory another host replaced with a symlink out of the backing directory', async () => {
    const outside = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-outside-'));
    await fsp.writeFile(nodePath.join(outside, 'secret'), 'x');
    await fsp.mkdir(nodePath.join(dir, 'link'));
    const { ops, restore } = await mount();
    try {
      const link = await ops.lookup!(ctx, 1, 'link');
      await fsp.rmdir(nodePath.join(dir, 'link'));
      await fsp.symlink(outside, nodePath.join(dir, 'link'));
      await assert.rejects(ops.lookup!(ctx, link.ino, 'secret'), (e: { code?: string; reason?: string }) => e.code === 'EACCES' || e.reason === 'PERMISSION_DENIED');
    } finally {
      restore();
      await fsp.rm(outside, { recursive: true, force: true });
    }
  });
});
