import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { FuseTestDirs, errnoOf, execFileAsync, makeFuseTestDirs, removeFuseTestDirs, sweepLeftoverMounts } from '../support/fuse-mount';
import { eventually } from '../support/eventually';
import { LlMountChild, startLlMountChild } from '../support/ll-mount-child';

/**
 * Caller identity, file handles that outlive renames, and lookup counts on
 * the low-level passthrough (served by a child process). Needs root (the
 * child chowns new files to their creator; setpriv switches users).
 */
let dirs: FuseTestDirs;
let child: LlMountChild;
const mnt = (...p: string[]) => nodePath.join(dirs.mountPoint, ...p);
const bak = (...p: string[]) => nodePath.join(dirs.backingDir, ...p);
const asUser = (uid: number, script: string) =>
  execFileAsync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', 'sh', '-c', script], { cwd: dirs.mountPoint });
const isRoot = process.getuid?.() === 0;

before(async () => {
  await sweepLeftoverMounts();
  dirs = await makeFuseTestDirs();
  await fsp.chmod(dirs.root, 0o755);
  child = await startLlMountChild({ backingDir: dirs.backingDir, mountPoint: dirs.mountPoint });
});

after(async () => {
  await child?.stop();
  if (dirs) await removeFuseTestDirs(dirs);
});

describe('low-level passthrough: callers and handles', { skip: !isRoot && 'needs root' }, () => {
  it('gives new files, directories and symlinks to the calling user, with its umask', async () => {
    await fsp.mkdir(mnt('shared'), { mode: 0o777 });
    await fsp.chmod(mnt('shared'), 0o777);
    await asUser(1000, 'umask 027; echo x > shared/f && mkdir shared/d && ln -s f shared/s && mkfifo shared/p');
    for (const name of ['f', 'd', 's', 'p']) {
      const st = await fsp.lstat(bak('shared', name));
      assert.equal(st.uid, 1000, name);
      assert.equal(st.gid, 1000, name);
    }
    assert.equal((await fsp.stat(bak('shared', 'f'))).mode & 0o777, 0o640);
    assert.equal((await fsp.stat(bak('shared', 'd'))).mode & 0o777, 0o750);
    await asUser(1000, 'umask 0; mkdir -m 777 shared/open');
    assert.equal((await fsp.stat(bak('shared', 'open'))).mode & 0o777, 0o777);
  });

  it('refuses other users where POSIX says so (default_permissions)', async () => {
    const res = await errnoOf(asUser(1001, 'echo y >> shared/f'));
    assert.notEqual(res, 'OK');
    assert.equal(await fsp.readFile(bak('shared', 'f'), 'utf8'), 'x\n');
    assert.notEqual(await errnoOf(asUser(1001, 'ls shared/d')), 'OK');
    assert.notEqual(await errnoOf(asUser(1001, 'chmod 777 shared/f')), 'OK');
    assert.equal(await errnoOf(asUser(1000, 'echo y >> shared/f')), 'OK');
  });

  it('keeps new files in a setgid directory in the directory group', async () => {
    await fsp.mkdir(mnt('grp'));
    await fsp.chown(bak('grp'), 0, 50);
    await fsp.chmod(mnt('grp'), 0o2777);
    await asUser(1000, 'echo z > grp/f');
    const st = await fsp.stat(bak('grp', 'f'));
    assert.equal(st.uid, 1000);
    assert.equal(st.gid, 50);
  });

  it('fstat, fchmod and ftruncate act on the open file after it was renamed and replaced underneath', async () => {
    await fsp.writeFile(mnt('orig'), 'original contents');
    const fh = await fsp.open(mnt('orig'), 'r+');
    try {
      await fsp.rename(bak('orig'), bak('moved'));
      await fsp.writeFile(bak('orig'), 'an impostor');
      assert.equal((await fh.stat()).size, 'original contents'.length);
      await fh.chmod(0o600);
      await fh.truncate(8);
      assert.equal((await fsp.stat(bak('moved'))).mode & 0o777, 0o600);
      assert.equal(await fsp.readFile(bak('moved'), 'utf8'), 'original');
      assert.equal(await fsp.readFile(bak('orig'), 'utf8'), 'an impostor');
    } finally {
      await fh.close();
    }
  });

  it('returns every lookup reference: the inode table shrinks back after files are listed and removed', async () => {
    await fsp.mkdir(mnt('counted'));
    await Promise.all(Array.from({ length: 200 }, (_, i) => fsp.writeFile(mnt('counted', `n${i}`), '')));
    await fsp.readdir(mnt('counted'), { withFileTypes: true });
    await Promise.all(Array.from({ length: 200 }, (_, i) => fsp.stat(mnt('counted', `n${i}`))));
    const before = Number((await child.query('inodes')).split(' ')[1]);
    assert.ok(before >= 201, `expected the 200 files in the table, got ${before}`);
    await fsp.rm(mnt('counted'), { recursive: true });
    await fsp.rm(mnt('shared'), { recursive: true });
    await fsp.rm(mnt('grp'), { recursive: true });
    await fsp.unlink(mnt('moved'));
    await fsp.unlink(mnt('orig'));
    // Unlinked inodes are evicted by the kernel, which forgets them: only the root is left.
    await eventually(async () => assert.equal((await child.query('inodes')).trim(), 'inodes 1'), 5000, 50);
  });
});
