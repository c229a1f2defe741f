import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHash } from 'crypto';
import { constants, promises as fsp } from 'fs';
import * as nodePath from 'path';
import { JournalRecord } from '../../src/agent/journal/journal-record';
import {
  FuseTestDirs, MountChild, errnoOf, execFileAsync, isMounted, makeFuseTestDirs, removeFuseTestDirs, startMountChild,
  sweepLeftoverMounts,
} from '../support/fuse-mount';
import { eventually } from '../support/eventually';

/** Journal batches and signals are asynchronous: checks of them retry for up to 3 s. */
const settled = <T>(check: () => Promise<T>): Promise<T> => eventually(check, 3000, 25);

/**
 * A real coherd mount ([journal, rangeLock] over a temp backing dir) served
 * by a child process; this process uses ordinary async file calls and
 * shell commands on it.
 */
let dirs: FuseTestDirs;
let child: MountChild;
let refDir: string;
const mnt = (...p: string[]) => nodePath.join(dirs.mountPoint, ...p);
const bak = (...p: string[]) => nodePath.join(dirs.backingDir, ...p);
const sh = (script: string) => execFileAsync('sh', ['-c', script], { maxBuffer: 1 << 20 });

async function readJournal(): Promise<JournalRecord[]> {
  const text = await fsp.readFile(dirs.journalPath, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JournalRecord);
}

before(async () => {
  await sweepLeftoverMounts();
  dirs = await makeFuseTestDirs();
  refDir = nodePath.join(dirs.root, 'ref');
  await fsp.mkdir(refDir);
  child = await startMountChild(dirs);
});

after(async () => {
  await child?.stop();
  if (dirs) await removeFuseTestDirs(dirs);
  await sweepLeftoverMounts();
});

describe('coherd FUSE passthrough', () => {
  it('round-trips create, write, read, rename and unlink', async () => {
    await fsp.writeFile(mnt('a.txt'), 'hello coherd');
    assert.equal(await fsp.readFile(bak('a.txt'), 'utf8'), 'hello coherd');
    assert.equal(await fsp.readFile(mnt('a.txt'), 'utf8'), 'hello coherd');
    await fsp.appendFile(mnt('a.txt'), '!');
    assert.equal(await fsp.readFile(bak('a.txt'), 'utf8'), 'hello coherd!');
    await fsp.rename(mnt('a.txt'), mnt('b.txt'));
    assert.equal(await errnoOf(fsp.access(bak('a.txt'))), 'ENOENT');
    assert.equal(await fsp.readFile(mnt('b.txt'), 'utf8'), 'hello coherd!');
    await fsp.unlink(mnt('b.txt'));
    assert.equal(await errnoOf(fsp.access(bak('b.txt'))), 'ENOENT');
  });

  it('creates and removes directories and lists entries with the backing inodes', async () => {
    await fsp.mkdir(mnt('d1'));
    await fsp.writeFile(mnt('d1', 'f'), 'x');
    assert.ok((await fsp.stat(bak('d1'))).isDirectory());
    assert.deepEqual((await fsp.readdir(mnt('d1'))).sort(), ['f']);
    const { stdout } = await sh(`ls -i ${mnt('d1')}`);
    assert.equal(Number(stdout.trim().split(/\s+/)[0]), (await fsp.stat(bak('d1', 'f'))).ino % 2 ** 32);
    assert.equal((await fsp.stat(mnt('d1', 'f'))).ino, (await fsp.stat(bak('d1', 'f'))).ino % 2 ** 32);
    await fsp.unlink(mnt('d1', 'f'));
    await fsp.rmdir(mnt('d1'));
    assert.equal(await errnoOf(fsp.stat(bak('d1'))), 'ENOENT');
  });

  it('stores symlink targets verbatim and lets the kernel follow them inside the mount', async () => {
    await fsp.writeFile(mnt('target'), 'pointed at');
    await fsp.mkdir(mnt('links'));
    await fsp.symlink('../target', mnt('links', 'rel'));
    await fsp.symlink('/nonexistent/absolute', mnt('links', 'abs'));
    assert.equal(await fsp.readlink(mnt('links', 'rel')), '../target');
    assert.equal(await fsp.readlink(bak('links', 'rel')), '../target');
    assert.equal(await fsp.readlink(mnt('links', 'abs')), '/nonexistent/absolute');
    assert.equal(await fsp.readFile(mnt('links', 'rel'), 'utf8'), 'pointed at');
    assert.ok((await fsp.lstat(mnt('links', 'rel'))).isSymbolicLink());
  });

  it('hard links share the backing inode', async () => {
    await fsp.writeFile(mnt('orig'), 'linked');
    await fsp.link(mnt('orig'), mnt('hard'));
    const [a, b] = await Promise.all([fsp.stat(mnt('orig')), fsp.stat(mnt('hard'))]);
    assert.equal(a.ino, b.ino);
    assert.equal(a.nlink, 2);
    assert.equal((await fsp.stat(bak('hard'))).ino % 2 ** 32, a.ino);
  });

  it('passes chmod, truncate and utimens through to the backing file', async () => {
    await fsp.writeFile(mnt('attrs'), '0123456789');
    await fsp.chmod(mnt('attrs'), 0o640);
    assert.equal((await fsp.stat(bak('attrs'))).mode & 0o777, 0o640);
    await fsp.truncate(mnt('attrs'), 4);
    assert.equal(await fsp.readFile(bak('attrs'), 'utf8'), '0123');
    const fh = await fsp.open(mnt('attrs'), 'r+');
    await fh.truncate(2);
    await fh.close();
    assert.equal((await fsp.stat(mnt('attrs'))).size, 2);
    await fsp.utimes(mnt('attrs'), 1_000_000, 1_000_000);
    assert.equal((await fsp.stat(bak('attrs'))).mtimeMs, 1_000_000_000);
  });

  it('reports the backing filesystem in statfs', async () => {
    const [m, b] = await Promise.all([fsp.statfs(dirs.mountPoint), fsp.statfs(dirs.backingDir)]);
    assert.equal(m.bsize * m.blocks, b.bsize * b.blocks);
    assert.equal(m.files, b.files);
  });

  it('round-trips extended attributes (python3 in a separate process)', async () => {
    await fsp.writeFile(mnt('xattr'), 'x');
    const py = `
import os, errno, sys
m, b = sys.argv[1], sys.argv[2]
os.setxattr(m, 'user.coherd', b'v1')
print(os.getxattr(b, 'user.coherd').decode(), os.getxattr(m, 'user.coherd').decode(), ','.join(os.listxattr(m)))
def code(f):
    try: f(); return 'OK'
    except OSError as e: return errno.errorcode[e.errno]
print(code(lambda: os.getxattr(m, 'user.none')), code(lambda: os.getxattr(b, 'user.none')))
print(code(lambda: os.setxattr(m, 'user.coherd', b'x', os.XATTR_CREATE)), code(lambda: os.setxattr(m, 'user.new', b'x', os.XATTR_REPLACE)))
os.removexattr(m, 'user.coherd')
print(len(os.listxattr(b)))`;
    const { stdout } = await execFileAsync('python3', ['-c', py, mnt('xattr'), bak('xattr')]);
    assert.deepEqual(stdout.trim().split('\n'), ['v1 v1 user.coherd', 'ENODATA ENODATA', 'EEXIST ENODATA', '0']);
  });

  it('answers with the same errno values as the backing directory', async () => {
    for (const root of [dirs.mountPoint, refDir]) {
      await fsp.mkdir(nodePath.join(root, 'e', 'full'), { recursive: true });
      await fsp.writeFile(nodePath.join(root, 'e', 'full', 'x'), 'x');
      await fsp.writeFile(nodePath.join(root, 'e', 'file'), 'f');
    }
    const cases: Array<[string, (r: string) => Promise<unknown>]> = [
      ['open missing', (r) => fsp.readFile(nodePath.join(r, 'e', 'missing'))],
      ['mkdir existing', (r) => fsp.mkdir(nodePath.join(r, 'e', 'full'))],
      ['rmdir non-empty', (r) => fsp.rmdir(nodePath.join(r, 'e', 'full'))],
      ['rmdir file', (r) => fsp.rmdir(nodePath.join(r, 'e', 'file'))],
      ['unlink dir', (r) => fsp.unlink(nodePath.join(r, 'e', 'full'))],
      ['rename dir onto file', (r) => fsp.rename(nodePath.join(r, 'e', 'full'), nodePath.join(r, 'e', 'file'))],
      ['rename file onto dir', (r) => fsp.rename(nodePath.join(r, 'e', 'file'), nodePath.join(r, 'e', 'full'))],
      ['readlink file', (r) => fsp.readlink(nodePath.join(r, 'e', 'file'))],
      ['link dir', (r) => fsp.link(nodePath.join(r, 'e', 'full'), nodePath.join(r, 'e', 'dirlink'))],
      ['open dir for write', (r) => fsp.open(nodePath.join(r, 'e', 'full'), 'r+')],
      ['create below a file', (r) => fsp.writeFile(nodePath.join(r, 'e', 'file', 'x'), 'x')],
      ['exclusive create of existing', (r) => fsp.open(nodePath.join(r, 'e', 'file'), 'wx')],
      ['truncate dir', (r) => fsp.truncate(nodePath.join(r, 'e', 'full'), 0)],
      ['readdir file', (r) => fsp.readdir(nodePath.join(r, 'e', 'file'))],
      ['rmdir missing', (r) => fsp.rmdir(nodePath.join(r, 'e', 'missing'))],
      ['symlink onto existing', (r) => fsp.symlink('t', nodePath.join(r, 'e', 'file'))],
      ['open with O_NOFOLLOW of a symlink', async (r) => {
        await fsp.symlink('file', nodePath.join(r, 'e', 'sl'));
        return fsp.open(nodePath.join(r, 'e', 'sl'), constants.O_RDONLY | constants.O_NOFOLLOW);
      }],
    ];
    for (const [name, op] of cases) {
      const [viaMount, viaRef] = [await errnoOf(op(dirs.mountPoint)), await errnoOf(op(refDir))];
      assert.notEqual(viaRef, 'OK', `${name} should fail on the reference dir`);
      assert.equal(viaMount, viaRef, `${name}: mount gave ${viaMount}, backing dir gave ${viaRef}`);
    }
  });

  it('carries big writes intact in pieces larger than 4 KiB', async () => {
    await sh(`dd if=/dev/urandom of=${mnt('big')} bs=1M count=32 status=none`);
    const digest = async (p: string) => createHash('sha256').update(await fsp.readFile(p)).digest('hex');
    assert.equal(await digest(mnt('big')), await digest(bak('big')));
    assert.equal((await fsp.stat(mnt('big'))).size, 32 * 1024 * 1024);
    await settled(async () => {
      const writes = (await readJournal()).filter((r) => r.op === 'write' && r.path === '/big');
      const total = writes.reduce((n, r) => n + (r.args.data as { length: number }).length, 0);
      assert.equal(total, 32 * 1024 * 1024);
      assert.ok(Math.max(...writes.map((r) => (r.args.data as { length: number }).length)) > 4096, 'big_writes in effect');
    });
  });

  it('journals mutating ops with backing inodes and strictly increasing sequence numbers', async () => {
    await fsp.writeFile(mnt('journaled'), 'abc');
    const ino = (await fsp.stat(bak('journaled'))).ino;
    await fsp.chmod(mnt('journaled'), 0o600);
    await fsp.readFile(mnt('journaled'));
    await settled(async () => {
      const records = await readJournal();
      const mine = records.filter((r) => r.path === '/journaled');
      assert.deepEqual(mine.map((r) => r.op), ['create', 'write', 'chmod']);
      assert.ok(mine.every((r) => r.ino === ino && r.namespace === 'test'));
      assert.deepEqual(mine[1].args.data, { length: 3 }); // the bytes are journaled by SegmentedJournal, not by this test sink
      for (let i = 1; i < records.length; i++) assert.ok(records[i].sequence > records[i - 1].sequence);
      const ops = new Set(records.map((r) => r.op));
      for (const op of ['create', 'write', 'rename', 'unlink', 'mkdir', 'rmdir', 'symlink', 'link', 'chmod', 'truncate', 'utimens', 'setxattr', 'removexattr']) {
        assert.ok(ops.has(op as JournalRecord['op']), `journal has ${op}`);
      }
    });
  });

  it('refuses writes with EIO while the agent is fenced, and still serves reads', async () => {
    await fsp.writeFile(mnt('fenced'), 'before');
    child.toggleFenced();
    await settled(async () => assert.equal(await errnoOf(fsp.writeFile(mnt('fenced'), 'during')), 'EIO'));
    const frozen = await fsp.readFile(bak('fenced'), 'utf8');
    assert.equal(await errnoOf(fsp.appendFile(mnt('fenced'), 'more')), 'EIO');
    assert.equal(await errnoOf(fsp.mkdir(mnt('fenced-dir'))), 'EIO');
    assert.equal(await errnoOf(fsp.access(bak('fenced-dir'))), 'ENOENT');
    assert.equal(await fsp.readFile(bak('fenced'), 'utf8'), frozen);
    assert.equal(await fsp.readFile(mnt('fenced'), 'utf8'), frozen);
    child.toggleFenced();
    await settled(async () => assert.equal(await errnoOf(fsp.writeFile(mnt('fenced'), 'after')), 'OK'));
    assert.equal(await fsp.readFile(bak('fenced'), 'utf8'), 'after');
  });

  it('unmounts cleanly and leaves nothing in /proc/mounts', async () => {
    await child.stop();
    assert.equal(await child.exited, 0);
    assert.equal(await isMounted(dirs.mountPoint), false);
    assert.deepEqual(await fsp.readdir(dirs.mountPoint), []);
  });
});
