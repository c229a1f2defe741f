import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHash, randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { FuseTestDirs, errnoOf, execFileAsync, makeFuseTestDirs, removeFuseTestDirs, sweepLeftoverMounts } from '../support/fuse-mount';
import { LlMountChild, startLlMountChild } from '../support/ll-mount-child';

/**
 * The plain passthrough on the libfuse3 low-level addon, mounted by a
 * child process; this process uses async fs calls and shell commands.
 */
let dirs: FuseTestDirs;
let child: LlMountChild;
const mnt = (...p: string[]) => nodePath.join(dirs.mountPoint, ...p);
const bak = (...p: string[]) => nodePath.join(dirs.backingDir, ...p);
const sh = (script: string) => execFileAsync('sh', ['-c', script], { cwd: dirs.mountPoint, maxBuffer: 1 << 22 });
const py = (code: string, ...args: string[]) => execFileAsync('/usr/bin/python3', ['-c', code, ...args], { cwd: dirs.mountPoint });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

before(async () => {
  await sweepLeftoverMounts();
  dirs = await makeFuseTestDirs();
  child = await startLlMountChild({ backingDir: dirs.backingDir, mountPoint: dirs.mountPoint });
});

after(async () => {
  await child?.stop();
  if (dirs) await removeFuseTestDirs(dirs);
});

describe('low-level passthrough: data and namespace', () => {
  it('round-trips create, write, read, append, rename and unlink', async () => {
    await fsp.writeFile(mnt('a.txt'), 'hello ll');
    assert.equal(await fsp.readFile(bak('a.txt'), 'utf8'), 'hello ll');
    await fsp.appendFile(mnt('a.txt'), '!');
    assert.equal(await fsp.readFile(mnt('a.txt'), 'utf8'), 'hello ll!');
    await fsp.rename(mnt('a.txt'), mnt('b.txt'));
    assert.equal(await errnoOf(fsp.access(bak('a.txt'))), 'ENOENT');
    assert.equal(await fsp.readFile(bak('b.txt'), 'utf8'), 'hello ll!');
    await fsp.unlink(mnt('b.txt'));
    assert.equal(await errnoOf(fsp.stat(mnt('b.txt'))), 'ENOENT');
  });

  it('moves 8 MiB through write and read unchanged', async () => {
    const data = randomBytes(8 << 20);
    await fsp.writeFile(mnt('big.bin'), data);
    assert.equal(sha(await fsp.readFile(bak('big.bin'))), sha(data));
    assert.equal(sha(await fsp.readFile(mnt('big.bin'))), sha(data));
    await fsp.unlink(mnt('big.bin'));
  });

  it('reports the backing inode numbers, link counts and a directory listing', async () => {
    await fsp.mkdir(mnt('dir'));
    await fsp.writeFile(mnt('dir', 'f'), 'x');
    await fsp.link(mnt('dir', 'f'), mnt('dir', 'g'));
    await fsp.symlink('f', mnt('dir', 's'));
    const m = await fsp.lstat(mnt('dir', 'f'), { bigint: true });
    const b = await fsp.lstat(bak('dir', 'f'), { bigint: true });
    assert.equal(m.ino, b.ino);
    assert.equal(m.nlink, 2n);
    assert.equal(await fsp.readlink(mnt('dir', 's')), 'f');
    assert.equal(await fsp.readFile(mnt('dir', 's'), 'utf8'), 'x');
    assert.deepEqual((await fsp.readdir(mnt('dir'))).sort(), ['f', 'g', 's']);
    const { stdout } = await sh('ls -a dir');
    assert.deepEqual(stdout.split('\n').filter(Boolean).sort(), ['.', '..', 'f', 'g', 's']);
    await fsp.rm(mnt('dir'), { recursive: true });
    assert.equal(await errnoOf(fsp.access(bak('dir'))), 'ENOENT');
  });

  it('lists a directory of 500 entries across several readdirplus replies', async () => {
    await fsp.mkdir(mnt('many'));
    await Promise.all(Array.from({ length: 500 }, (_, i) => fsp.writeFile(bak('many', `file-with-a-longish-name-${i}`), String(i))));
    const names = await fsp.readdir(mnt('many'));
    assert.equal(names.length, 500);
    assert.equal(await fsp.readFile(mnt('many', 'file-with-a-longish-name-321'), 'utf8'), '321');
    await fsp.rm(mnt('many'), { recursive: true });
  });

  it('honours RENAME_NOREPLACE and RENAME_EXCHANGE', async () => {
    await fsp.writeFile(mnt('x'), 'X');
    await fsp.writeFile(mnt('y'), 'Y');
    const rename2 = 'import ctypes,os,sys\nlibc=ctypes.CDLL(None,use_errno=True)\nr=libc.renameat2(-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),int(sys.argv[3]))\nprint(0 if r==0 else os.strerror(ctypes.get_errno()))';
    assert.equal((await py(rename2, 'x', 'y', '1')).stdout.trim(), 'File exists');
    assert.equal((await py(rename2, 'x', 'y', '2')).stdout.trim(), '0');
    assert.equal(await fsp.readFile(bak('x'), 'utf8'), 'Y');
    assert.equal(await fsp.readFile(mnt('y'), 'utf8'), 'X');
    await fsp.rename(mnt('x'), mnt('y'));
    assert.equal(await fsp.readFile(mnt('y'), 'utf8'), 'Y');
    await fsp.unlink(mnt('y'));
  });

  it('creates FIFOs, Unix sockets and device nodes', async () => {
    await sh('mkfifo fifo && mknod null2 c 1 3');
    assert.ok((await fsp.lstat(bak('fifo'))).isFIFO());
    const dev = await fsp.lstat(bak('null2'));
    assert.ok(dev.isCharacterDevice());
    assert.equal(dev.rdev, (await fsp.lstat('/dev/null')).rdev);
    await py('import socket\ns=socket.socket(socket.AF_UNIX)\ns.bind("sock")');
    assert.ok((await fsp.lstat(bak('sock'))).isSocket());
    await sh('rm fifo null2 sock');
  });

  it('sets times with nanoseconds, UTIME_OMIT and UTIME_NOW', async () => {
    await fsp.writeFile(mnt('t'), '');
    await sh('touch -d @1234567890.123456789 t');
    const s1 = await fsp.stat(bak('t'), { bigint: true });
    assert.equal(s1.mtimeNs, 1234567890123456789n);
    assert.equal(s1.atimeNs, 1234567890123456789n);
    await sh('touch -m -d @2000000000 t'); // atime omitted
    const s2 = await fsp.stat(bak('t'), { bigint: true });
    assert.equal(s2.atimeNs, 1234567890123456789n);
    assert.equal(s2.mtimeNs, 2000000000n * 1000000000n);
    await sh('touch -a t'); // atime now, mtime omitted
    const s3 = await fsp.stat(bak('t'), { bigint: true });
    assert.ok(s3.atimeNs > 2000000000n * 1000000000n - 500000000n * 1000000000n);
    assert.equal(s3.mtimeNs, 2000000000n * 1000000000n);
    await fsp.unlink(mnt('t'));
  });

  it('sets, reads, lists and removes xattrs, with ERANGE for a short buffer', async () => {
    await fsp.writeFile(mnt('xa'), '');
    const code = 'import os,errno\nos.setxattr("xa","user.k",b"v"*100)\nprint(os.getxattr("xa","user.k")==b"v"*100, os.listxattr("xa"))\nos.removexattr("xa","user.k")\nprint(os.listxattr("xa"))\ntry:\n  os.getxattr("xa","user.k")\nexcept OSError as e: print(errno.errorcode[e.errno])';
    const out = (await py(code)).stdout.trim().split('\n');
    assert.deepEqual(out, ["True ['user.k']", '[]', 'ENODATA']);
    await fsp.unlink(mnt('xa'));
  });

  it('truncates, fallocates and reports statfs', async () => {
    await fsp.writeFile(mnt('tr'), 'abcdef');
    await fsp.truncate(mnt('tr'), 2);
    assert.equal(await fsp.readFile(bak('tr'), 'utf8'), 'ab');
    await sh('fallocate -l 1048576 tr');
    assert.equal((await fsp.stat(bak('tr'))).size, 1048576);
    const m = await fsp.statfs(dirs.mountPoint);
    const b = await fsp.statfs(dirs.backingDir);
    assert.equal(m.blocks, b.blocks);
    await fsp.unlink(mnt('tr'));
  });

  it('finds holes with SEEK_DATA and SEEK_HOLE as the backing file has them', async () => {
    const code = 'import os\nfd=os.open("holes",os.O_RDWR|os.O_CREAT,0o644)\nos.pwrite(fd,b"x"*4096,1<<20)\nprint(os.lseek(fd,0,os.SEEK_DATA),os.lseek(fd,1<<20,os.SEEK_HOLE))';
    assert.equal((await py(code)).stdout.trim(), '1048576 1052672');
    await fsp.unlink(mnt('holes'));
  });

  it('copies with copy_file_range (cp and os.copy_file_range, short at the end) the bytes the source holds', async () => {
    const data = randomBytes((3 << 20) + 123);
    await fsp.writeFile(mnt('cfr-src'), data);
    await sh('cp cfr-src cfr-cp');
    assert.equal(sha(await fsp.readFile(bak('cfr-cp'))), sha(data));
    const code = 'import os\ni=os.open("cfr-src",os.O_RDONLY)\no=os.open("cfr-py",os.O_WRONLY|os.O_CREAT,0o644)\nn=os.copy_file_range(i,o,1<<20,offset_src=4096,offset_dst=8192)\nm=os.copy_file_range(i,o,1<<22,offset_src=(3<<20),offset_dst=0)\nprint(n,m)';
    assert.equal((await py(code)).stdout.trim(), `${1 << 20} 123`);
    const got = await fsp.readFile(bak('cfr-py'));
    assert.equal(got.length, 8192 + (1 << 20));
    assert.ok(got.subarray(0, 123).equals(data.subarray(3 << 20)));
    assert.ok(got.subarray(8192).equals(data.subarray(4096, 4096 + (1 << 20))));
    await sh('rm cfr-src cfr-cp cfr-py');
  });

  it('refuses bad requests with errno and keeps serving', async () => {
    assert.equal(await errnoOf(fsp.readFile(mnt('missing'))), 'ENOENT');
    assert.equal(await errnoOf(fsp.rmdir(mnt('missing'))), 'ENOENT');
    await fsp.mkdir(mnt('full'));
    await fsp.writeFile(mnt('full', 'f'), '');
    assert.equal(await errnoOf(fsp.rmdir(mnt('full'))), 'ENOTEMPTY');
    assert.equal(await errnoOf(fsp.mkdir(mnt('full'))), 'EEXIST');
    assert.equal(await errnoOf(fsp.readFile(mnt('x'.repeat(300)))), 'ENAMETOOLONG');
    await fsp.rm(mnt('full'), { recursive: true });
    assert.equal(await fsp.readdir(dirs.mountPoint).then((l) => l.length), 0);
  });
});
