import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { constants, promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { errnoNameOf } from '../../src/common/errno-table';
import { silentLogger } from '../../src/common/logger';
import { BackingStore } from '../../src/agent/backing/backing-store';
import { Vop, VopArgs, VopName, VopResults } from '../../src/agent/vop';

const signal = new AbortController().signal;
let root: string;
let backingDir: string;
let outside: string;
let store: BackingStore;

function vop<N extends VopName>(op: N, path: string, args: VopArgs[N]): Vop {
  return { op, path, args, signal } as unknown as Vop;
}

/** Runs a vop; never lets a synchronous throw pass as a rejection. */
function exec<N extends VopName>(op: N, path: string, args: VopArgs[N]): Promise<VopResults[N]> {
  let p: Promise<unknown>;
  try {
    p = store.execute(vop(op, path, args));
  } catch (e) {
    assert.fail(`execute threw synchronously: ${String(e)}`);
  }
  return p as Promise<VopResults[N]>;
}

/** Asserts the vop fails with an Error whose errno name is `expected`. */
async function expectErrno(p: Promise<unknown>, expected: string | string[]): Promise<void> {
  const names = Array.isArray(expected) ? expected : [expected];
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof Error, 'rejects with an Error');
    assert.ok(names.includes(errnoNameOf(e)), `errno ${errnoNameOf(e)} (${(e as Error).message}), wanted ${names.join('|')}`);
    return true;
  });
}

before(async () => {
  root = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-backing-test-'));
  backingDir = nodePath.join(root, 'backing');
  outside = nodePath.join(root, 'outside');
  await fsp.mkdir(backingDir);
  await fsp.mkdir(outside);
  await fsp.writeFile(nodePath.join(outside, 'secret'), 'secret');
  await fsp.mkdir(nodePath.join(backingDir, 'dir'));
  await fsp.writeFile(nodePath.join(backingDir, 'dir', 'file'), 'hello world');
  await fsp.symlink('../outside', nodePath.join(backingDir, 'escape-dir'));
  await fsp.symlink(nodePath.join(outside, 'secret'), nodePath.join(backingDir, 'escape-file'));
  store = await BackingStore.open({ dir: backingDir, logger: silentLogger(), maxIoLength: 1024 * 1024 });
});

after(async () => {
  await store.close();
  await fsp.rm(root, { recursive: true, force: true });
});

describe('backing store paths', () => {
  it('refuses ".." components with EACCES', async () => {
    await expectErrno(exec('getattr', '/../outside/secret', {}), 'EACCES');
    await expectErrno(exec('getattr', '/dir/../../outside/secret', {}), 'EACCES');
    await expectErrno(exec('unlink', '/..', {}), 'EACCES');
  });

  it('refuses relative, empty, non-normalized and NUL paths with EINVAL', async () => {
    for (const p of ['dir/file', '', '//dir', '/dir//file', '/./dir', '/dir/.', '/dir/file\0x']) {
      await expectErrno(exec('getattr', p, {}), 'EINVAL');
    }
    await expectErrno(exec('getattr', 42 as unknown as string, {}), 'EINVAL');
  });

  it('refuses over-long components, and paths past 64 KiB, with ENAMETOOLONG', async () => {
    await expectErrno(exec('getattr', '/' + 'a'.repeat(300), {}), 'ENAMETOOLONG');
    await expectErrno(exec('getattr', ('/' + 'a'.repeat(200)).repeat(330), {}), 'ENAMETOOLONG');
    await expectErrno(exec('getattr', '/a'.repeat(2100), {}), 'ENOENT'); // past PATH_MAX with the root's prefix: looked up, not refused
  });

  it('works on names deeper than PATH_MAX with the root prefix, one call at a time (pjdfstest */03.t)', async () => {
    const dirs: string[] = [];
    let p = '';
    for (let i = 0; i < 20; i++) {
      p += '/' + String(i).padStart(3, '0') + 'd'.repeat(200);
      dirs.push(p);
      await exec('mkdir', p, { mode: 0o755 });
    }
    assert.ok(nodePath.join(backingDir, p).length > 4096, 'the backing path is longer than one system call takes');
    const f = `${p}/file`;
    const made = await exec('create', f, { mode: 0o640, flags: constants.O_RDWR });
    await exec('release', f, { fh: made.fh });
    assert.equal((await exec('getattr', f, {})).mode & 0o7777, 0o640);
    await exec('chmod', f, { mode: 0o600 });
    await exec('rename', f, { dest: `${p}/moved` });
    await exec('link', `${p}/moved`, { dest: `${dirs[0]}/short-link` });
    assert.equal((await exec('getattr', `${dirs[0]}/short-link`, {})).nlink, 2);
    assert.equal((await exec('getattr', `${p}/moved`, {})).mode & 0o7777, 0o600);
    const listed = (await exec('readdir', p, {})).map((e) => e.name);
    assert.deepEqual(listed.sort(), ['.', '..', 'moved']);
    await exec('unlink', `${p}/moved`, {});
    await expectErrno(exec('getattr', `${p}/moved`, {}), 'ENOENT');
    for (const d of dirs.reverse()) if (d !== dirs[dirs.length - 1]) await exec('rmdir', d, {});
  });

  it('never follows a symlinked directory out of the backing dir on a long path either', async () => {
    await expectErrno(exec('getattr', '/escape-dir' + ('/' + 'x'.repeat(200)).repeat(21), {}), ['ENOTDIR', 'EACCES']);
    await expectErrno(exec('mkdir', '/escape-dir' + ('/' + 'x'.repeat(200)).repeat(21), { mode: 0o755 }), ['ENOTDIR', 'EACCES']);
  });

  it('never follows a symlinked directory out of the backing dir', async () => {
    await expectErrno(exec('getattr', '/escape-dir/secret', {}), 'EACCES');
    await expectErrno(exec('open', '/escape-dir/secret', { flags: constants.O_RDONLY }), 'EACCES');
    await expectErrno(exec('unlink', '/escape-dir/secret', {}), 'EACCES');
    await expectErrno(exec('mkdir', '/escape-dir/new', { mode: 0o755 }), 'EACCES');
    await expectErrno(exec('readdir', '/escape-dir', {}), ['ENOTDIR', 'ELOOP']);
    assert.equal(await fsp.readFile(nodePath.join(outside, 'secret'), 'utf8'), 'secret');
    await assert.rejects(fsp.access(nodePath.join(outside, 'new')));
  });

  it('acts on a final symlink itself, never on its target', async () => {
    const st = await exec('getattr', '/escape-file', {});
    assert.equal(st.mode & constants.S_IFMT, constants.S_IFLNK);
    await expectErrno(exec('open', '/escape-file', { flags: constants.O_RDWR }), 'ELOOP');
    await expectErrno(exec('truncate', '/escape-file', { size: 0 }), 'ELOOP');
    await expectErrno(exec('chmod', '/escape-file', { mode: 0o777 }), ['ENOTSUP', 'EOPNOTSUPP']);
    await exec('utimens', '/escape-file', { atimeMs: 1000, mtimeMs: 1000 });
    const outsideStat = await fsp.stat(nodePath.join(outside, 'secret'));
    assert.notEqual(outsideStat.mode & 0o777, 0o777);
    assert.notEqual(outsideStat.mtimeMs, 1000);
    assert.equal(await fsp.readFile(nodePath.join(outside, 'secret'), 'utf8'), 'secret');
  });

  it('stores symlink targets verbatim and returns them from readlink', async () => {
    for (const [name, target] of [['rel', '../../etc/passwd'], ['abs', '/etc/shadow'], ['odd', 'a//b/./c/']]) {
      await exec('symlink', `/dir/${name}`, { target });
      assert.equal(await exec('readlink', `/dir/${name}`, {}), target);
      assert.equal(await fsp.readlink(nodePath.join(backingDir, 'dir', name)), target);
    }
    await expectErrno(exec('symlink', '/dir/nul', { target: 'a\0b' }), 'EINVAL');
    await expectErrno(exec('symlink', '/dir/long', { target: 'x'.repeat(5000) }), 'ENAMETOOLONG');
  });

  it('reports no inode for invalid or escaping paths', async () => {
    assert.equal(await store.lookupIno('/../outside'), undefined);
    assert.equal(await store.lookupIno('/escape-dir/secret'), undefined);
    assert.equal(await store.lookupIno('/dir/file'), (await fsp.lstat(nodePath.join(backingDir, 'dir', 'file'))).ino);
  });

  it('gives a lookup of a missing or invalid path the errno its getattr would fail with', async () => {
    const cases: Array<[string, string]> = [['/dir/missing', 'ENOENT'], ['/../outside', 'EACCES'], ['/escape-dir/secret', 'EACCES'], ['/dir/file/x', 'ENOTDIR'], ['/a//b', 'EINVAL']];
    for (const [path, errno] of cases) {
      const found = await store.lookup(path);
      assert.ok('error' in found, `${path} is not found`);
      assert.equal(errnoNameOf(found.error), errno, path);
      await expectErrno(exec('getattr', path, {}), errno);
    }
  });
});

describe('backing store bounds', () => {
  let fh: number;
  before(async () => {
    fh = (await exec('open', '/dir/file', { flags: constants.O_RDWR })).fh;
  });
  after(async () => {
    await exec('release', '/dir/file', { fh });
  });

  it('rejects negative, fractional and non-numeric offsets with EINVAL', async () => {
    for (const offset of [-1, -(2 ** 60), 0.5, NaN, Infinity, '0' as unknown as number]) {
      await expectErrno(exec('read', '/dir/file', { fh, buffer: Buffer.alloc(4), length: 4, offset }), 'EINVAL');
      await expectErrno(exec('write', '/dir/file', { fh, data: Buffer.from('x'), offset }), 'EINVAL');
    }
  });

  it('rejects offsets and sizes beyond 2^53 with EFBIG', async () => {
    await expectErrno(exec('read', '/dir/file', { fh, buffer: Buffer.alloc(4), length: 4, offset: 2 ** 60 }), 'EFBIG');
    await expectErrno(exec('write', '/dir/file', { fh, data: Buffer.from('x'), offset: 2 ** 53 }), 'EFBIG');
    await expectErrno(exec('truncate', '/dir/file', { size: 2 ** 63 }), 'EFBIG');
    await expectErrno(exec('truncate', '/dir/file', { size: 2 ** 53, fh }), 'EFBIG');
  });

  it('rejects a negative truncate size with EINVAL', async () => {
    await expectErrno(exec('truncate', '/dir/file', { size: -1 }), 'EINVAL');
  });

  it('rejects lengths over the bound or beyond the buffer with EINVAL', async () => {
    await expectErrno(exec('read', '/dir/file', { fh, buffer: Buffer.alloc(16), length: 2 * 1024 * 1024, offset: 0 }), 'EINVAL');
    await expectErrno(exec('read', '/dir/file', { fh, buffer: Buffer.alloc(4), length: 8, offset: 0 }), 'EINVAL');
    await expectErrno(exec('write', '/dir/file', { fh, data: Buffer.alloc(2 * 1024 * 1024), offset: 0 }), 'EINVAL');
  });

  it('answers unknown and released handles with EBADF', async () => {
    await expectErrno(exec('read', '/dir/file', { fh: 999999, buffer: Buffer.alloc(4), length: 4, offset: 0 }), 'EBADF');
    const { fh: other } = await exec('open', '/dir/file', { flags: constants.O_RDONLY });
    await exec('release', '/dir/file', { fh: other });
    await expectErrno(exec('release', '/dir/file', { fh: other }), 'EBADF');
    await expectErrno(exec('fsync', '/dir/file', { fh: other, datasync: true }), 'EBADF');
  });

  it('reads and writes within bounds, short at end of file', async () => {
    assert.equal(await exec('write', '/dir/file', { fh, data: Buffer.from('HELLO'), offset: 0 }), 5);
    const buffer = Buffer.alloc(64);
    const n = await exec('read', '/dir/file', { fh, buffer, length: 64, offset: 0 });
    assert.equal(buffer.subarray(0, n).toString(), 'HELLO world');
  });

  it('rejects bad modes, ids and xattr arguments with errno names', async () => {
    await expectErrno(exec('chmod', '/dir/file', { mode: -1 }), 'EINVAL');
    await expectErrno(exec('chown', '/dir/file', { uid: -5, gid: 0 }), 'EINVAL');
    await expectErrno(exec('utimens', '/dir/file', { atimeMs: NaN, mtimeMs: 0 }), 'EINVAL');
    await expectErrno(exec('setxattr', '/dir/file', { name: 'user.' + 'n'.repeat(300), value: Buffer.from('v'), flags: 0 }), 'ERANGE');
    await expectErrno(exec('setxattr', '/dir/file', { name: 'user.big', value: Buffer.alloc(70000), flags: 0 }), 'E2BIG');
    await expectErrno(exec('setxattr', '/dir/file', { name: 'user.x', value: Buffer.from('v'), flags: 7 }), 'EINVAL');
    await expectErrno(exec('unknown' as VopName, '/dir/file', {} as never), 'ENOSYS');
  });
});

describe('backing store operations', () => {
  it('creates exclusively with the exact mode, whatever the umask', async () => {
    const { fh, stat } = await exec('create', '/dir/created', { mode: 0o100666 });
    await exec('release', '/dir/created', { fh });
    assert.equal(stat.mode & 0o777, 0o666);
    assert.equal((await fsp.stat(nodePath.join(backingDir, 'dir', 'created'))).mode & 0o777, 0o666);
    await expectErrno(exec('create', '/dir/created', { mode: 0o644 }), 'EEXIST');
  });

  it('create without O_EXCL opens a file another host made meanwhile, leaving its mode, data and owner alone', async () => {
    const path = nodePath.join(backingDir, 'dir', 'raced');
    await fsp.writeFile(path, 'theirs', { mode: 0o600 });
    await fsp.chown(path, 4242, 4243);
    const r = await exec('create', '/dir/raced', { mode: 0o100666, flags: constants.O_WRONLY | constants.O_CREAT, owner: { uid: 7, gid: 8 } });
    assert.equal(r.existed, true);
    assert.equal(r.stat.size, 6);
    await exec('release', '/dir/raced', { fh: r.fh });
    const st = await fsp.stat(path);
    assert.deepEqual([st.mode & 0o777, st.uid, st.gid], [0o600, 4242, 4243]);
    await expectErrno(exec('create', '/dir/raced', { mode: 0o644, flags: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL }), 'EEXIST');
  });

  it('gives a new file, directory, FIFO and symlink to the owner asked for, mode exact (setuid kept after the chown)', async () => {
    const owner = { uid: 1234, gid: 5678 };
    const c = await exec('create', '/dir/owned', { mode: 0o104750, flags: constants.O_WRONLY | constants.O_CREAT, owner });
    assert.equal(c.existed, undefined);
    await exec('release', '/dir/owned', { fh: c.fh });
    await exec('mkdir', '/dir/owned-dir', { mode: 0o750, owner });
    await exec('mknod', '/dir/owned-fifo', { mode: constants.S_IFIFO | 0o640, dev: 0, owner });
    await exec('symlink', '/dir/owned-link', { target: 'owned', owner });
    for (const [name, mode] of [['owned', 0o4750], ['owned-dir', 0o750], ['owned-fifo', 0o640]] as const) {
      const st = await fsp.lstat(nodePath.join(backingDir, 'dir', name));
      assert.deepEqual([name, st.mode & 0o7777, st.uid, st.gid], [name, mode, 1234, 5678]);
    }
    const link = await fsp.lstat(nodePath.join(backingDir, 'dir', 'owned-link'));
    assert.deepEqual([link.uid, link.gid], [1234, 5678]);
  });

  it('makes sockets and device nodes with mknod, mode exact', async () => {
    await exec('mknod', '/dir/sock', { mode: constants.S_IFSOCK | 0o600, dev: 0 });
    await exec('mknod', '/dir/null', { mode: constants.S_IFCHR | 0o666, dev: (1 << 8) | 3 });
    const sock = await fsp.lstat(nodePath.join(backingDir, 'dir', 'sock'));
    const dev = await fsp.lstat(nodePath.join(backingDir, 'dir', 'null'));
    assert.ok(sock.isSocket());
    assert.equal(sock.mode & 0o7777, 0o600);
    assert.ok(dev.isCharacterDevice());
    assert.deepEqual([dev.rdev, dev.mode & 0o7777], [(1 << 8) | 3, 0o666]);
    await expectErrno(exec('mknod', '/dir/sock', { mode: constants.S_IFSOCK | 0o600, dev: 0 }), 'EEXIST');
  });

  it('keeps the group a setgid directory gives a new entry', async () => {
    const d = nodePath.join(backingDir, 'sgid');
    await fsp.mkdir(d);
    await fsp.chown(d, 0, 999);
    await fsp.chmod(d, 0o2775);
    const c = await exec('create', '/sgid/f', { mode: 0o100644, flags: constants.O_WRONLY | constants.O_CREAT, owner: { uid: 1234, gid: 5678 } });
    await exec('release', '/sgid/f', { fh: c.fh });
    const st = await fsp.stat(nodePath.join(d, 'f'));
    assert.deepEqual([st.uid, st.gid], [1234, 999]);
  });

  it('reports the same errno names as the backing directory', async () => {
    await expectErrno(exec('unlink', '/dir/missing', {}), 'ENOENT');
    await expectErrno(exec('rmdir', '/dir', {}), 'ENOTEMPTY');
    await expectErrno(exec('mkdir', '/dir', { mode: 0o755 }), 'EEXIST');
    await expectErrno(exec('readlink', '/dir/file', {}), 'EINVAL');
    await expectErrno(exec('getattr', '/dir/file/below', {}), 'ENOTDIR');
    await expectErrno(exec('link', '/dir', { dest: '/dir-link' }), 'EPERM');
    await expectErrno(exec('getxattr', '/dir/file', { name: 'user.none' }), 'ENODATA');
  });

  it('lists entries with their inodes, including . and ..', async () => {
    const entries = await exec('readdir', '/dir', {});
    const names = entries.map((e) => e.name);
    assert.deepEqual(names.slice(0, 2), ['.', '..']);
    assert.ok(names.includes('file'));
    const file = entries.find((e) => e.name === 'file')!;
    assert.equal(file.stat!.ino, (await fsp.lstat(nodePath.join(backingDir, 'dir', 'file'))).ino);
  });

  it('round-trips extended attributes without following symlinks', async () => {
    await exec('setxattr', '/dir/file', { name: 'user.k', value: Buffer.from('v1'), flags: 0 });
    assert.equal((await exec('getxattr', '/dir/file', { name: 'user.k' })).toString(), 'v1');
    assert.deepEqual(await exec('listxattr', '/dir/file', {}), ['user.k']);
    await expectErrno(exec('setxattr', '/dir/file', { name: 'user.k', value: Buffer.from('v2'), flags: 1 }), 'EEXIST');
    await exec('removexattr', '/dir/file', { name: 'user.k' });
    await expectErrno(exec('removexattr', '/dir/file', { name: 'user.k' }), 'ENODATA');
    await expectErrno(exec('setxattr', '/escape-file', { name: 'user.k', value: Buffer.from('v'), flags: 0 }), 'EPERM');
  });

  it('settles every malformed vop with an errno name, never a raw throw (seeded fuzz)', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 100000);
    let x = seed || 1;
    const rand = (n: number) => { x = (x * 48271) % 2147483647; return x % n; };
    const junk = [-1, 2 ** 64, NaN, 'x', null, undefined, {}, [], 0.5, 2 ** 31, -(2 ** 53), Buffer.alloc(2), true];
    const paths = ['/dir/file', '/../x', '/escape-dir/secret', 'rel', '/dir/file\0', '/nope/nope', '/', '/dir'];
    const ops: VopName[] = ['getattr', 'read', 'write', 'truncate', 'open', 'create', 'chmod', 'chown', 'utimens', 'rename',
      'link', 'symlink', 'mknod', 'setxattr', 'getxattr', 'fsync', 'release', 'readdir', 'access', 'mkdir'];
    const keys = ['fh', 'buffer', 'length', 'offset', 'data', 'size', 'mode', 'uid', 'gid', 'atimeMs', 'mtimeMs', 'dest', 'target', 'name', 'value', 'flags', 'dev', 'datasync'];
    for (let i = 0; i < 400; i++) {
      const args: Record<string, unknown> = {};
      for (const k of keys) if (rand(2)) args[k] = junk[rand(junk.length)];
      const op = ops[rand(ops.length)];
      const path = paths[rand(paths.length)];
      try {
        await exec(op, path, args as never);
      } catch (e) {
        assert.ok(e instanceof Error, `seed ${seed}: ${op} rejected with a non-Error`);
        assert.ok(errnoNameOf(e) in os.constants.errno, `seed ${seed}: ${op} ${path} gave ${errnoNameOf(e)}`);
      }
    }
    assert.equal(await fsp.readFile(nodePath.join(outside, 'secret'), 'utf8'), 'secret', `seed ${seed}`);
  });
});
