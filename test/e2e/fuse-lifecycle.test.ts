import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { silentLogger } from '../../src/common/logger';
import { abortFuseConnection, findMount } from '../../src/agent/fuse/stale-mount';
import {
  FuseTestDirs, MountChild, errnoOf, isMounted, makeFuseTestDirs, removeFuseTestDirs, startMountChild, sweepLeftoverMounts,
} from '../support/fuse-mount';

/** Mount lifecycle: crashes, stuck servers, remounts and clean unmounts of a mount served by a child process. */
let dirs: FuseTestDirs;
let child: MountChild;
const mnt = (...p: string[]) => nodePath.join(dirs.mountPoint, ...p);

before(async () => {
  await sweepLeftoverMounts();
  dirs = await makeFuseTestDirs();
  await fsp.writeFile(nodePath.join(dirs.backingDir, 'target'), 'pointed at');
  child = await startMountChild(dirs);
});

after(async () => {
  await child?.stop();
  if (dirs) await removeFuseTestDirs(dirs);
  await sweepLeftoverMounts();
});

describe('coherd FUSE mount lifecycle', () => {
  it('survives SIGKILL of the serving process: mounting again at the same path works', async () => {
    child.process.kill('SIGKILL');
    await child.exited;
    assert.ok(['ENOTCONN', 'ECONNABORTED'].includes(await errnoOf(fsp.stat(dirs.mountPoint))), 'the mount is left stale');
    assert.ok(await isMounted(dirs.mountPoint));
    child = await startMountChild(dirs);
    assert.equal(await fsp.readFile(mnt('target'), 'utf8'), 'pointed at');
    assert.ok(await isMounted(dirs.mountPoint));
  });

  it('makes mount() and unmount() idempotent and lets an unmounted fs be mounted again', async () => {
    assert.equal(await child.remount(), 'remounted false true');
    assert.equal(await fsp.readFile(mnt('target'), 'utf8'), 'pointed at');
    assert.equal((await fsp.readFile('/proc/self/mountinfo', 'utf8')).split(dirs.mountPoint + ' ').length - 1, 1);
  });

  it('frees a mount whose server is stuck (SIGSTOP) by aborting its fusectl connection', async () => {
    const entry = await findMount(dirs.mountPoint);
    assert.ok(entry);
    child.process.kill('SIGSTOP');
    try {
      await abortFuseConnection(entry.minor, silentLogger());
      assert.ok(['ENOTCONN', 'ECONNABORTED'].includes(await errnoOf(fsp.stat(dirs.mountPoint))));
    } finally {
      child.process.kill('SIGKILL');
      await child.exited;
    }
    child = await startMountChild(dirs);
    assert.equal(await fsp.readFile(mnt('target'), 'utf8'), 'pointed at');
  });

  it('aborts a stuck server\'s connection when a new server mounts at the same path, so requests waiting on it fail instead of hanging', async () => {
    const entry = await findMount(dirs.mountPoint);
    assert.ok(entry);
    const waiting = nodePath.join('/sys/fs/fuse/connections', String(entry.minor), 'waiting');
    const stopped = child;
    stopped.process.kill('SIGSTOP');
    try {
      // The new server's probe of the stuck mount is a request that waits on the old connection; after a
      // lazy unmount alone it keeps waiting for as long as the stopped server lives.
      child = await startMountChild(dirs);
      let left = 'unknown';
      for (let i = 0; i < 50; i++) {
        left = await fsp.readFile(waiting, 'utf8').then((t) => t.trim(), () => 'gone');
        if (left === '0' || left === 'gone') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(left === '0' || left === 'gone', `requests still waiting on the stuck connection: ${left}`);
      assert.equal(await fsp.readFile(mnt('target'), 'utf8'), 'pointed at');
    } finally {
      stopped.process.kill('SIGKILL');
      await stopped.exited;
    }
  });

  it('unmounts cleanly on SIGTERM and leaves nothing in /proc/mounts', async () => {
    await child.stop();
    assert.equal(await child.exited, 0);
    assert.equal(await isMounted(dirs.mountPoint), false);
    assert.deepEqual(await fsp.readdir(dirs.mountPoint), []);
  });
});
