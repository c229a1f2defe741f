import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { silentLogger } from '../../src/common/logger';
import { BackingStore } from '../../src/agent/backing/backing-store';
import { journalArgs } from '../../src/agent/hooks/journal';
import { VopBuilder } from '../../src/agent/fuse/vop-builder';
import type { RequestContext } from '../../src/agent/fuse/ll/low-level-ops';
import { recordedLowLevelOps } from './support/recorded-ll-ops';

/**
 * CREATE in a directory the kernel knows (docs/fuse.md "Creates, third
 * pass"): the vop runs on the directory node's inode (its dir token) with
 * no lookup first, and the store checks under that token that the parent
 * path still leads there.
 */
let dir: string;
let store: BackingStore;
const ctx: RequestContext = { uid: 0, gid: 0, pid: 1, umask: 0o22, signal: new AbortController().signal };
const O_WRONLY = 1;
const O_CREAT = 0o100;

before(async () => {
  dir = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-create-'));
  store = await BackingStore.open({ dir, logger: silentLogger() });
});

after(async () => {
  await store.close();
  await fsp.rm(dir, { recursive: true, force: true });
});


describe('CREATE in a known directory', () => {
  it('looks nothing up first: the vop runs on the directory node\'s inode and creates the file there', async () => {
    await fsp.mkdir(nodePath.join(dir, 'd'));
    const { ops, nodes, ran, lstats, restore } = await recordedLowLevelOps(store, dir);
    try {
      const d = await ops.lookup!(ctx, 1, 'd');
      const dIno = nodes.get(d.ino)!.ino;
      ran.length = 0;
      lstats.count = 0;
      const r = await ops.create!(ctx, d.ino, 'f', 0o644, O_WRONLY | O_CREAT);
      assert.equal(lstats.count, 0, 'no lstat to find the directory\'s inode');
      assert.deepEqual(ran.map((x) => [x.vop.op, x.vop.parentIno, x.error]), [['create', dIno, undefined]]);
      assert.equal((await fsp.lstat(nodePath.join(dir, 'd', 'f'))).ino, r.entry.attr!.ino);
      await ops.release!(ctx, r.entry.ino, r.open.fh, 0n, false);
    } finally {
      restore();
    }
  });

  it('creates nothing under the old directory\'s inode when another host moved it, and then creates where the path leads now, as before', async () => {
    await fsp.mkdir(nodePath.join(dir, 'm'));
    const { ops, nodes, ran, restore } = await recordedLowLevelOps(store, dir);
    try {
      const m = await ops.lookup!(ctx, 1, 'm');
      const oldIno = nodes.get(m.ino)!.ino;
      await fsp.rename(nodePath.join(dir, 'm'), nodePath.join(dir, 'm.old')); // another host
      await fsp.mkdir(nodePath.join(dir, 'm'));
      const newIno = (await fsp.lstat(nodePath.join(dir, 'm'))).ino;
      ran.length = 0;
      const r = await ops.create!(ctx, m.ino, 'f', 0o644, O_WRONLY | O_CREAT);
      assert.deepEqual(ran.map((x) => [x.vop.parentIno, x.error]), [[oldIno, 'ESTALE'], [newIno, undefined]]);
      assert.deepEqual(await fsp.readdir(nodePath.join(dir, 'm.old')), [], 'nothing created under the token of the moved directory');
      assert.deepEqual(await fsp.readdir(nodePath.join(dir, 'm')), ['f']);
      assert.equal(r.entry.entryTimeout, 0);
      await ops.release!(ctx, r.entry.ino, r.open.fh, 0n, false);
    } finally {
      restore();
    }
  });

  it('resolves a directory directly under the root by its lstat alone; a deeper one still by realpath', async () => {
    await fsp.mkdir(nodePath.join(dir, 'top', 'sub'), { recursive: true });
    const { ops, restore } = await recordedLowLevelOps(store, dir);
    const realpath = fs.promises.realpath;
    const resolved: string[] = [];
    fs.promises.realpath = ((p: string) => { resolved.push(p); return realpath(p); }) as typeof realpath;
    try {
      const top = await ops.lookup!(ctx, 1, 'top');
      const sub = await ops.lookup!(ctx, top.ino, 'sub');
      resolved.length = 0;
      const a = await ops.create!(ctx, top.ino, 'f', 0o644, O_WRONLY | O_CREAT);
      assert.deepEqual(resolved, [], 'no realpath for /top/f');
      const b = await ops.create!(ctx, sub.ino, 'g', 0o644, O_WRONLY | O_CREAT);
      assert.deepEqual(resolved, [nodePath.join(dir, 'top', 'sub')], 'one realpath for /top/sub/g');
      assert.deepEqual((await fsp.readdir(nodePath.join(dir, 'top'))).sort(), ['f', 'sub']);
      assert.deepEqual(await fsp.readdir(nodePath.join(dir, 'top', 'sub')), ['g']);
      await ops.release!(ctx, a.entry.ino, a.open.fh, 0n, false);
      await ops.release!(ctx, b.entry.ino, b.open.fh, 0n, false);
    } finally {
      fs.promises.realpath = realpath;
      restore();
    }
  });

  it('refuses a create in a directory another host replaced with a symlink out of the backing directory', async () => {
    const outside = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-outside-'));
    await fsp.mkdir(nodePath.join(dir, 's'));
    const { ops, restore } = await recordedLowLevelOps(store, dir);
    try {
      const s = await ops.lookup!(ctx, 1, 's');
      await fsp.rmdir(nodePath.join(dir, 's'));
      await fsp.symlink(outside, nodePath.join(dir, 's'));
      await assert.rejects(ops.create!(ctx, s.ino, 'f', 0o644, O_WRONLY | O_CREAT), (e: { code?: string; reason?: string }) => e.code === 'EACCES' || e.reason === 'PERMISSION_DENIED');
      assert.deepEqual(await fsp.readdir(outside), [], 'nothing created outside');
    } finally {
      restore();
      await fsp.rm(outside, { recursive: true, force: true });
    }
  });

  it('journals no parent inode check: it means nothing on another host', () => {
    const vop = new VopBuilder(store, new AbortController().signal).onKnownEntry('/d/g', 42, { mode: 0o644, flags: 0 });
    assert.equal(vop.args.expectParentIno, 42);
    assert.deepEqual(journalArgs(vop), { mode: 0o644, flags: 0 });
  });
});
