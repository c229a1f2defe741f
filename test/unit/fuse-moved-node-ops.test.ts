import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { silentLogger } from '../../src/common/logger';
import { BackingStore } from '../../src/agent/backing/backing-store';
import { journalArgs } from '../../src/agent/hooks/journal';
import { loadFuseAddon } from '../../src/agent/fuse/ll/fuse-addon';
import { NodeLocator } from '../../src/agent/fuse/ll/node-locator';
import { PathNodeTable } from '../../src/agent/fuse/ll/path-node-table';
import type { RequestContext } from '../../src/agent/fuse/ll/low-level-ops';
import { recordedLowLevelOps } from './support/recorded-ll-ops';

/**
 * Ops on a node another host moved (docs/fuse.md "Nodes another host
 * moved"): the path this mount knows fails the check made under the
 * node's tokens, the node's file handle says where it is now, the op runs
 * there (checked again) and the node table learns the new path.
 */
let dir: string;
let store: BackingStore;
const ctx: RequestContext = { uid: 0, gid: 0, pid: 1, umask: 0o22, signal: new AbortController().signal };
const O_WRONLY = 1;
const O_CREAT = 0o100;
const asRoot = { skip: process.getuid?.() !== 0 ? 'needs root (CAP_DAC_READ_SEARCH)' : false };
const at = (...p: string[]) => nodePath.join(dir, ...p);
/** Another host moves `from` to `to` and makes a new directory under the old name. */
const moveAndReplace = async (from: string, to: string) => {
  await fsp.rename(at(from), at(to));
  await fsp.mkdir(at(from));
};

before(async () => {
  dir = await fsp.realpath(await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-moved-')));
  store = await BackingStore.open({ dir, logger: silentLogger() });
});

after(async () => {
  await store.close();
  await fsp.rm(dir, { recursive: true, force: true });
});

const withOps = async (fn: (o: Awaited<ReturnType<typeof recordedLowLevelOps>>) => Promise<void>) => {
  const o = await recordedLowLevelOps(store, dir, new NodeLocator(dir, loadFuseAddon().sys, silentLogger()));
  try {
    await fn(o);
  } finally {
    o.restore();
  }
};

describe('ops on a node another host moved', () => {
  it('creates in the moved directory, not in the new one under its old name, under the moved directory\'s token', asRoot, () => withOps(async ({ ops, nodes, ran }) => {
    await fsp.mkdir(at('c'));
    const c = await ops.lookup!(ctx, 1, 'c');
    const cIno = nodes.get(c.ino)!.ino;
    await moveAndReplace('c', 'c.moved');
    ran.length = 0;
    const r = await ops.create!(ctx, c.ino, 'f', 0o644, O_WRONLY | O_CREAT);
    assert.deepEqual(ran.map((x) => [x.vop.op, x.vop.path, x.vop.parentIno, x.error]), [['create', '/c/f', cIno, 'ESTALE'], ['create', '/c.moved/f', cIno, undefined]]);
    assert.deepEqual(await fsp.readdir(at('c.moved')), ['f']);
    assert.deepEqual(await fsp.readdir(at('c')), []);
    assert.equal(nodes.get(c.ino)!.path, '/c.moved');
    assert.equal(nodes.get(r.entry.ino)!.path, '/c.moved/f');
    await ops.release!(ctx, r.entry.ino, r.open.fh, 0n, false);
  }));

  it('makes directories, nodes and symlinks in the moved directory', asRoot, () => withOps(async ({ ops, nodes }) => {
    await fsp.mkdir(at('m'));
    const m = await ops.lookup!(ctx, 1, 'm');
    await moveAndReplace('m', 'm.moved');
    const sub = await ops.mkdir!(ctx, m.ino, 'sub', 0o755);
    await ops.mknod!(ctx, m.ino, 'fifo', 0o10644, 0);
    await ops.symlink!(ctx, m.ino, 'link', 'target');
    assert.deepEqual((await fsp.readdir(at('m.moved'))).sort(), ['fifo', 'link', 'sub']);
    assert.deepEqual(await fsp.readdir(at('m')), []);
    assert.equal(nodes.get(sub.ino)!.path, '/m.moved/sub');
  }));

  it('removes entries of the moved directory, not the same names in the new one under its old name', asRoot, () => withOps(async ({ ops, ran }) => {
    await fsp.mkdir(at('u'));
    const u = await ops.lookup!(ctx, 1, 'u');
    await moveAndReplace('u', 'u.moved');
    for (const d of ['u', 'u.moved']) {
      await fsp.writeFile(at(d, 'f'), d);
      await fsp.mkdir(at(d, 'sub'));
    }
    ran.length = 0;
    await ops.unlink!(ctx, u.ino, 'f');
    await ops.rmdir!(ctx, u.ino, 'sub');
    assert.deepEqual(await fsp.readdir(at('u.moved')), []);
    assert.deepEqual((await fsp.readdir(at('u'))).sort(), ['f', 'sub']);
    assert.deepEqual(ran.map((x) => [x.vop.op, x.vop.path, x.error]), [['unlink', '/u/f', 'ESTALE'], ['unlink', '/u.moved/f', undefined], ['rmdir', '/u.moved/sub', undefined]]);
  }));

  it('renames within, out of and into moved directories, not in the new ones under their old names', asRoot, () => withOps(async ({ ops, nodes, ran }) => {
    for (const d of ['ra', 'rb']) await fsp.mkdir(at(d));
    const [ra, rb] = [await ops.lookup!(ctx, 1, 'ra'), await ops.lookup!(ctx, 1, 'rb')];
    await moveAndReplace('ra', 'ra.moved');
    await moveAndReplace('rb', 'rb.moved');
    for (const d of ['ra', 'ra.moved']) await fsp.writeFile(at(d, 'a'), d);
    for (const d of ['ra', 'ra.moved']) await fsp.writeFile(at(d, 'x'), d);
    const a = await ops.lookup!(ctx, ra.ino, 'a');
    assert.equal(nodes.get(ra.ino)!.path, '/ra.moved');
    ran.length = 0;
    await ops.rename!(ctx, ra.ino, 'a', ra.ino, 'b', 0);
    assert.deepEqual((await fsp.readdir(at('ra.moved'))).sort(), ['b', 'x']);
    assert.deepEqual((await fsp.readdir(at('ra'))).sort(), ['a', 'x'], 'the new directory under the old name is untouched');
    assert.equal(nodes.get(a.ino)!.path, '/ra.moved/b');
    await ops.rename!(ctx, ra.ino, 'b', rb.ino, 'c', 0);
    assert.deepEqual(await fsp.readdir(at('rb.moved')), ['c']);
    assert.deepEqual(await fsp.readdir(at('rb')), []);
    assert.equal(nodes.get(a.ino)!.path, '/rb.moved/c');
    await fsp.rename(at('rb.moved'), at('rb.moved2')); // another host moves the source's directory again
    await ops.rename!(ctx, rb.ino, 'c', ra.ino, 'x', 2); // RENAME_EXCHANGE
    assert.equal(await fsp.readFile(at('ra.moved', 'x'), 'utf8'), 'ra.moved', 'the file that was a, now x');
    assert.equal(await fsp.readFile(at('rb.moved2', 'c'), 'utf8'), 'ra.moved');
    assert.equal(await fsp.readFile(at('ra', 'x'), 'utf8'), 'ra');
    assert.equal(nodes.get(a.ino)!.path, '/ra.moved/x');
    assert.deepEqual(ran.filter((x) => x.vop.op === 'rename').map((x) => [x.vop.path, (x.vop.args as { dest: string }).dest, x.error]), [
      ['/ra.moved/a', '/ra.moved/b', undefined], // the lookup of a found ra moved already
      ['/ra.moved/b', '/rb/c', 'ESTALE'], ['/ra.moved/b', '/rb.moved/c', undefined],
      ['/rb.moved/c', '/ra.moved/x', 'ENOENT'], ['/rb.moved2/c', '/ra.moved/x', undefined],
    ]);
  }));

  it('links a moved file into a moved directory, not the files and directory that took their names', asRoot, () => withOps(async ({ ops, nodes, ran }) => {
    await fsp.mkdir(at('lk'));
    await fsp.mkdir(at('lk', 'to'));
    await fsp.writeFile(at('lk', 'f'), 'moved file');
    const lk = await ops.lookup!(ctx, 1, 'lk');
    const [f, to] = [await ops.lookup!(ctx, lk.ino, 'f'), await ops.lookup!(ctx, lk.ino, 'to')];
    await fsp.rename(at('lk', 'f'), at('lk', 'f2'));
    await fsp.writeFile(at('lk', 'f'), 'the file that took the name');
    await moveAndReplace('lk/to', 'lk/to2');
    ran.length = 0;
    const r = await ops.link!(ctx, f.ino, to.ino, 'l');
    assert.equal(await fsp.readFile(at('lk', 'to2', 'l'), 'utf8'), 'moved file');
    assert.deepEqual(await fsp.readdir(at('lk', 'to')), []);
    assert.equal(r.attr!.ino, nodes.get(f.ino)!.ino);
    assert.deepEqual(ran.filter((x) => x.vop.op === 'link').map((x) => [x.vop.path, (x.vop.args as { dest: string }).dest, x.error]), [
      ['/lk/f', '/lk/to/l', 'ESTALE'], ['/lk/f', '/lk/to2/l', 'ESTALE'], ['/lk/f2', '/lk/to2/l', undefined],
    ]);
  }));

  it('lists the moved directory, not the new one under its old name', asRoot, () => withOps(async ({ ops, nodes }) => {
    await fsp.mkdir(at('ls'));
    await fsp.writeFile(at('ls', 'mine'), '');
    const d = await ops.lookup!(ctx, 1, 'ls');
    await moveAndReplace('ls', 'ls.moved');
    await fsp.writeFile(at('ls', 'theirs'), '');
    const { fh } = await ops.opendir!(ctx, d.ino, 0);
    const batch = await ops.readdirplus!(ctx, d.ino, fh, 4096, 0);
    batch.sent(batch.entries.length);
    assert.deepEqual(batch.entries.map((e) => e.name).filter((n) => n !== '.' && n !== '..'), ['mine']);
    const mine = batch.entries.find((e) => e.name === 'mine')!;
    assert.equal(nodes.get(mine.ino)!.path, '/ls.moved/mine');
  }));

  it('stats a moved directory\'s node where it is now, not the new directory under its old name', asRoot, () => withOps(async ({ ops, nodes }) => {
    await fsp.mkdir(at('g'));
    const g = await ops.lookup!(ctx, 1, 'g');
    const gIno = nodes.get(g.ino)!.ino;
    await moveAndReplace('g', 'g.moved');
    const r = await ops.getattr!(ctx, g.ino);
    assert.equal(r.attr.ino, gIno);
    assert.equal(nodes.get(g.ino)!.path, '/g.moved');
  }));

  it('stats a moved file\'s node (no handle open) where it is now', asRoot, () => withOps(async ({ ops, nodes }) => {
    await fsp.mkdir(at('h'));
    await fsp.writeFile(at('h', 'f'), 'four');
    const f = await ops.lookup!(ctx, (await ops.lookup!(ctx, 1, 'h')).ino, 'f');
    await fsp.rename(at('h', 'f'), at('h', 'f2'));
    await fsp.writeFile(at('h', 'f'), 'another file');
    const r = await ops.getattr!(ctx, f.ino);
    assert.equal(r.attr.size, 4);
    assert.equal(nodes.get(f.ino)!.path, '/h/f2');
  }));

  it('looks names up in the moved directory', asRoot, () => withOps(async ({ ops, nodes }) => {
    await fsp.mkdir(at('l'));
    await fsp.writeFile(at('l', 'f'), 'old');
    const l = await ops.lookup!(ctx, 1, 'l');
    await moveAndReplace('l', 'l.moved');
    await fsp.writeFile(at('l', 'f'), 'new one');
    const f = await ops.lookup!(ctx, l.ino, 'f');
    assert.equal(f.attr!.size, 3);
    assert.equal(nodes.get(f.ino)!.path, '/l.moved/f');
  }));

  it('answers ENOENT for a create in a directory another host removed; a stat of it, as before, is the path\'s', asRoot, () => withOps(async ({ ops }) => {
    await fsp.mkdir(at('gone'));
    const g = await ops.lookup!(ctx, 1, 'gone');
    await fsp.mkdir(at('gone.new')); // made first, so it cannot reuse the removed one's inode number
    await fsp.rmdir(at('gone'));
    await fsp.rename(at('gone.new'), at('gone'));
    await assert.rejects(ops.create!(ctx, g.ino, 'f', 0o644, O_WRONLY | O_CREAT), { code: 'ENOENT' });
    await assert.rejects(ops.mkdir!(ctx, g.ino, 'sub', 0o755), { code: 'ENOENT' });
    assert.deepEqual(await fsp.readdir(at('gone')), [], 'nothing created in the new directory');
    // A node's own inode gone may be an op racing a replace of its name (rename over it): the name never stopped
    // existing, so not ENOENT: what the path names now, as before.
    assert.equal((await ops.getattr!(ctx, g.ino)).attr.ino, (await fsp.lstat(at('gone'))).ino);
  }));

  it('changes a moved file\'s mode, size and times where it is now, not the file that took its name', asRoot, () => withOps(async ({ ops, nodes, ran }) => {
    await fsp.mkdir(at('s'));
    await fsp.writeFile(at('s', 'f'), 'moved file');
    const f = await ops.lookup!(ctx, (await ops.lookup!(ctx, 1, 's')).ino, 'f');
    const fIno = nodes.get(f.ino)!.ino;
    await fsp.rename(at('s', 'f'), at('s', 'f2'));
    await fsp.writeFile(at('s', 'f'), 'the file that took the name');
    await fsp.chmod(at('s', 'f'), 0o644);
    ran.length = 0;
    const r = await ops.setattr!(ctx, f.ino, { mode: 0o600, size: 5, mtime: { sec: 1_000_000, nsec: 0 } });
    assert.deepEqual([r.attr.ino, r.attr.size, Number(r.attr.mode) & 0o777], [fIno, 5, 0o600]);
    const moved = await fsp.lstat(at('s', 'f2'));
    assert.deepEqual([moved.size, moved.mode & 0o777, moved.mtimeMs], [5, 0o600, 1_000_000_000]);
    const other = await fsp.lstat(at('s', 'f'));
    assert.deepEqual([other.size, other.mode & 0o777], [27, 0o644], 'the file that took the name is untouched');
    assert.deepEqual(ran.filter((x) => x.vop.op !== 'getattr').map((x) => [x.vop.op, x.vop.path, x.vop.ino, x.error]), [
      ['chmod', '/s/f', fIno, 'ESTALE'], ['chmod', '/s/f2', fIno, undefined], ['truncate', '/s/f2', fIno, undefined], ['utimens', '/s/f2', fIno, undefined],
    ]);
  }));

  it('opens a moved file\'s node where it is now, and O_TRUNC truncates it, not the file that took its name', asRoot, () => withOps(async ({ ops, nodes }) => {
    await fsp.mkdir(at('o'));
    await fsp.writeFile(at('o', 'f'), 'moved file');
    const f = await ops.lookup!(ctx, (await ops.lookup!(ctx, 1, 'o')).ino, 'f');
    await fsp.rename(at('o', 'f'), at('o', 'f2'));
    await fsp.writeFile(at('o', 'f'), 'the file that took the name');
    const r = await ops.open!(ctx, f.ino, O_WRONLY | 0o1000);
    await ops.write!(ctx, f.ino, r.fh, Buffer.from('new'), 0);
    await ops.release!(ctx, f.ino, r.fh, 0n, false);
    assert.equal(await fsp.readFile(at('o', 'f2'), 'utf8'), 'new');
    assert.equal(await fsp.readFile(at('o', 'f'), 'utf8'), 'the file that took the name');
    assert.equal(nodes.get(f.ino)!.path, '/o/f2');
  }));

  it('sets and reads extended attributes of a moved file where it is now', asRoot, () => withOps(async ({ ops }) => {
    await fsp.mkdir(at('xa'));
    await fsp.writeFile(at('xa', 'f'), 'moved file');
    const f = await ops.lookup!(ctx, (await ops.lookup!(ctx, 1, 'xa')).ino, 'f');
    await fsp.rename(at('xa', 'f'), at('xa', 'f2'));
    await fsp.writeFile(at('xa', 'f'), 'the file that took the name');
    await ops.setxattr!(ctx, f.ino, 'user.k', Buffer.from('v'), 0);
    assert.deepEqual(await ops.getxattr!(ctx, f.ino, 'user.k', 0), Buffer.from('v'));
    assert.match((await ops.listxattr!(ctx, f.ino, 0)).toString(), /user\.k/);
    const byPath = await recordedLowLevelOps(store, dir); // another view, by the names as they are now
    try {
      const xa = (await byPath.ops.lookup!(ctx, 1, 'xa')).ino;
      const [f1, f2] = [await byPath.ops.lookup!(ctx, xa, 'f'), await byPath.ops.lookup!(ctx, xa, 'f2')];
      assert.equal((await byPath.ops.listxattr!(ctx, f1.ino, 0)).toString(), '', 'the file that took the name never got it');
      assert.deepEqual(await byPath.ops.getxattr!(ctx, f2.ino, 'user.k', 0), Buffer.from('v'));
      await ops.removexattr!(ctx, f.ino, 'user.k');
      await assert.rejects(byPath.ops.getxattr!(ctx, f2.ino, 'user.k', 0), { code: 'ENODATA' });
    } finally {
      byPath.restore();
    }
  }));

  it('opens and stats, as before, the file that replaced a node\'s file by a rename over its name (the op may be racing the replace)', asRoot, () => withOps(async ({ ops }) => {
    await fsp.mkdir(at('rp'));
    await fsp.writeFile(at('rp', 'f'), 'old');
    const f = await ops.lookup!(ctx, (await ops.lookup!(ctx, 1, 'rp')).ino, 'f');
    await fsp.writeFile(at('rp', 'tmp'), 'new!');
    await fsp.rename(at('rp', 'tmp'), at('rp', 'f')); // another host's atomic save
    assert.equal((await ops.getattr!(ctx, f.ino)).attr.size, 4);
    const r = await ops.open!(ctx, f.ino, 0);
    const data = await ops.read!(ctx, f.ino, r.fh, 16, 0);
    await ops.release!(ctx, f.ino, r.fh, 0n, false);
    assert.equal(data.toString(), 'new!');
  }));

  it('reads a moved symlink\'s target where it is now', asRoot, () => withOps(async ({ ops }) => {
    await fsp.mkdir(at('y'));
    await fsp.symlink('first', at('y', 'l'));
    const l = await ops.lookup!(ctx, (await ops.lookup!(ctx, 1, 'y')).ino, 'l');
    await fsp.rename(at('y', 'l'), at('y', 'l2'));
    await fsp.symlink('second', at('y', 'l'));
    assert.equal(await ops.readlink!(ctx, l.ino), 'first');
  }));

  it('journals no inode check: expectIno and expectParentIno mean nothing on another host', () => {
    const signal = new AbortController().signal;
    assert.deepEqual(journalArgs({ op: 'chmod', path: '/f', ino: 7, args: { mode: 0o600, expectIno: 7 }, signal }), { mode: 0o600 });
    assert.deepEqual(journalArgs({ op: 'rename', path: '/d/f', ino: 7, parentIno: 5, args: { dest: '/e/f', destParentIno: 6, expectParentIno: 5, expectDestParentIno: 6 }, signal }), { dest: '/e/f', destParentIno: 6 });
  });

  it('keeps today\'s behaviour without handles: the create lands where the path leads now', async () => {
    await fsp.mkdir(at('n'));
    const { ops, restore } = await recordedLowLevelOps(store, dir, new NodeLocator(dir, loadFuseAddon().sys, silentLogger(), false));
    try {
      const n = await ops.lookup!(ctx, 1, 'n');
      await moveAndReplace('n', 'n.moved');
      const r = await ops.create!(ctx, n.ino, 'f', 0o644, O_WRONLY | O_CREAT);
      assert.deepEqual(await fsp.readdir(at('n')), ['f']);
      await ops.release!(ctx, r.entry.ino, r.open.fh, 0n, false);
    } finally {
      restore();
    }
  });
});

describe('PathNodeTable.relocated', () => {
  it('moves a node and the nodes below its old path', () => {
    const t = new PathNodeTable(1);
    const x = t.ref(10, '/x'), xa = t.ref(11, '/x/a'), xab = t.ref(12, '/x/a/b'), xy = t.ref(13, '/xy');
    t.relocated(x, '/moved/x');
    assert.deepEqual([x.path, xa.path, xab.path, xy.path], ['/moved/x', '/moved/x/a', '/moved/x/a/b', '/xy']);
  });

  it('moves only the node when another inode\'s node holds its old path now (which nodes below were its is unknown)', () => {
    const t = new PathNodeTable(1);
    const x = t.ref(10, '/x'), xa = t.ref(11, '/x/a');
    t.ref(20, '/x'); // the new directory under the old name, looked up by this mount
    t.relocated(x, '/y');
    assert.deepEqual([x.path, xa.path], ['/y', '/x/a']);
  });

  it('never moves the root', () => {
    const t = new PathNodeTable(1);
    t.relocated(t.get(1)!, '/elsewhere');
    assert.equal(t.get(1)!.path, '/');
  });
});
