import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { FuseTestDirs, errnoOf, makeFuseTestDirs, removeFuseTestDirs, sweepLeftoverMounts } from '../support/fuse-mount';
import { LlMountChild, startLlMountChild } from '../support/ll-mount-child';
import { loadFuseAddon } from '../../src/agent/fuse/ll/fuse-addon';

/**
 * The kernel cache on the low-level mount: with long timeouts and
 * keep_cache the kernel serves re-reads, stats and lookups itself, so a
 * change made behind its back (another host) stays invisible until the
 * notification the agent sends before answering a revoke.
 */
let dirs: FuseTestDirs;
let child: LlMountChild;
const mnt = (...p: string[]) => nodePath.join(dirs.mountPoint, ...p);
const bak = (...p: string[]) => nodePath.join(dirs.backingDir, ...p);

/** Rewrites a backing file with same-size contents and its old mtime: nothing the kernel could notice by itself. */
async function changeBehind(name: string, contents: string): Promise<void> {
  const st = await fsp.stat(bak(name), { bigint: true });
  await fsp.writeFile(bak(name), contents);
  const sec = (ns: bigint) => [Number(ns / 1000000000n), Number(ns % 1000000000n)] as const;
  assert.equal(loadFuseAddon().sys.utimens(bak(name), ...sec(st.atimeNs), ...sec(st.mtimeNs)), 0);
}

before(async () => {
  await sweepLeftoverMounts();
  dirs = await makeFuseTestDirs();
  child = await startLlMountChild({ backingDir: dirs.backingDir, mountPoint: dirs.mountPoint, attrTimeout: 60, entryTimeout: 60, keepCache: true });
});

after(async () => {
  await child?.stop();
  if (dirs) await removeFuseTestDirs(dirs);
});

describe('low-level mount: kernel cache and notifications', () => {
  it('serves a cached re-read until notify_inval_inode, then the new bytes', async () => {
    await fsp.writeFile(mnt('c'), 'old-bytes');
    assert.equal(await fsp.readFile(mnt('c'), 'utf8'), 'old-bytes');
    await changeBehind('c', 'new-bytes');
    assert.equal(await fsp.readFile(mnt('c'), 'utf8'), 'old-bytes', 'the kernel page cache answered (no invalidation yet)');
    assert.equal(await child.query('inval c'), 'inval 0');
    assert.equal(await fsp.readFile(mnt('c'), 'utf8'), 'new-bytes');
  });

  it('drops a cached attribute with notify_inval_inode', async () => {
    await fsp.writeFile(mnt('s'), 'x');
    assert.equal((await fsp.stat(mnt('s'))).size, 1);
    await fsp.writeFile(bak('s'), 'longer');
    assert.equal((await fsp.stat(mnt('s'))).size, 1, 'cached attributes');
    assert.equal(await child.query('inval s'), 'inval 0');
    assert.equal((await fsp.stat(mnt('s'))).size, 6);
  });

  it('grows the kernel\'s size of a file with notify_store of its last byte, and keeps the cached bytes before it', async () => {
    await fsp.writeFile(mnt('g'), 'x'.repeat(10));
    assert.equal(await fsp.readFile(mnt('g'), 'utf8'), 'x'.repeat(10));
    assert.equal((await fsp.stat(mnt('g'))).size, 10);
    await fsp.appendFile(bak('g'), 'y'.repeat(9) + 'z');
    assert.equal((await fsp.stat(mnt('g'))).size, 10, 'cached attributes');
    assert.equal(await child.query('grow g'), 'grow 0');
    assert.equal((await fsp.stat(mnt('g'))).size, 20);
    const after = await fsp.readFile(mnt('g'), 'utf8');
    assert.equal(after.length, 20);
    assert.ok(after.startsWith('x'.repeat(10)) && after.endsWith('z'), after);
    assert.equal(await child.query('inval g'), 'inval 0');
    assert.equal(await fsp.readFile(mnt('g'), 'utf8'), 'x'.repeat(10) + 'y'.repeat(9) + 'z');
  });

  it('drops a cached name with notify_inval_entry after a rename elsewhere', async () => {
    await fsp.writeFile(mnt('e1'), 'e');
    await fsp.stat(mnt('e1'));
    await fsp.rename(bak('e1'), bak('e2'));
    assert.equal((await fsp.stat(mnt('e1'))).size, 1, 'cached entry');
    assert.equal(await child.query('invalentry e1'), 'invalentry 0');
    assert.equal(await errnoOf(fsp.stat(mnt('e1'))), 'ENOENT');
    assert.equal(await fsp.readFile(mnt('e2'), 'utf8'), 'e');
  });

  it('drops every cached name at once with an epoch increment, taking no lock', async () => {
    await fsp.mkdir(mnt('ep'));
    await fsp.writeFile(mnt('ep', 'a1'), 'a');
    await fsp.writeFile(mnt('b1'), 'b');
    await Promise.all([fsp.stat(mnt('ep', 'a1')), fsp.stat(mnt('b1'))]);
    await fsp.rename(bak('ep', 'a1'), bak('ep', 'a2'));
    await fsp.rename(bak('b1'), bak('b2'));
    assert.equal((await fsp.stat(mnt('ep', 'a1'))).size, 1, 'cached entry');
    assert.equal(await child.query('epoch'), 'epoch 0');
    assert.equal(await errnoOf(fsp.stat(mnt('ep', 'a1'))), 'ENOENT');
    assert.equal(await errnoOf(fsp.stat(mnt('b1'))), 'ENOENT');
    assert.equal(await fsp.readFile(mnt('ep', 'a2'), 'utf8'), 'a');
    assert.equal(await fsp.readFile(mnt('b2'), 'utf8'), 'b');
  });

  it('removes a deleted name with notify_delete', async () => {
    await fsp.writeFile(mnt('d'), 'd');
    await fsp.stat(mnt('d'));
    const id = (await child.query('idof d')).split(' ')[1];
    await fsp.unlink(bak('d'));
    assert.equal((await fsp.stat(mnt('d'))).size, 1, 'cached entry');
    assert.equal(await child.query(`delete d/${id}`), 'delete 0');
    assert.equal(await errnoOf(fsp.stat(mnt('d'))), 'ENOENT');
  });

  it('answers -ENOENT for an inode the kernel does not know, and keeps serving', async () => {
    assert.equal(await child.query('inval missing'), 'inval -2');
    await fsp.writeFile(bak('unseen'), 'u');
    assert.equal(await child.query('grow unseen'), 'grow -2');
    assert.equal(await fsp.readFile(mnt('c'), 'utf8'), 'new-bytes');
  });
});
