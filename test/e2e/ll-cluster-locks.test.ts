import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChildProcess, spawn } from 'child_process';
import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { startCluster, TestCluster } from '../support/cluster';
import { FuseTestDirs, execFileAsync, makeFuseTestDirs, removeFuseTestDirs, sweepLeftoverMounts } from '../support/fuse-mount';
import { LlMountChild, startLlMountChild } from '../support/ll-mount-child';

/**
 * Two "hosts": two low-level mounts of one backing directory, each served
 * by its own child with its own coordinator session. fcntl and flock
 * locks taken through one must exclude the same locks through the other.
 */
let cluster: TestCluster;
let dirs: FuseTestDirs;
let mntB: string;
let a: LlMountChild;
let b: LlMountChild;
const inA = (name: string) => nodePath.join(dirs.mountPoint, name);
const inB = (name: string) => nodePath.join(mntB, name);
const py = (code: string, ...args: string[]) => execFileAsync('/usr/bin/python3', ['-c', code, ...args], { timeout: 20000 });

/** A python process that takes an fcntl lock [start, start+len) and prints "locked", then waits for stdin to close. */
function holdLock(path: string, start = 0, len = 0): Promise<ChildProcess> {
  const code = 'import fcntl,sys,os\nf=open(sys.argv[1],"r+")\nfcntl.lockf(f,fcntl.LOCK_EX,int(sys.argv[3]),int(sys.argv[2]))\nprint("locked",flush=True)\nsys.stdin.read()';
  const p = spawn('/usr/bin/python3', ['-c', code, path, String(start), String(len)], { stdio: ['pipe', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('locked')) resolve(p); });
    p.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
}

const TRY_LOCK = 'import fcntl,sys,errno\nf=open(sys.argv[1],"r+")\ntry:\n  fcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB)\n  print("got")\nexcept OSError as e: print(errno.errorcode[e.errno])';

before(async () => {
  await sweepLeftoverMounts();
  cluster = await startCluster();
  dirs = await makeFuseTestDirs();
  mntB = nodePath.join(dirs.root, 'mnt-b');
  await fsp.mkdir(mntB);
  a = await startLlMountChild({ backingDir: dirs.backingDir, mountPoint: dirs.mountPoint, coordinator: cluster.coordinator.address });
  b = await startLlMountChild({ backingDir: dirs.backingDir, mountPoint: mntB, coordinator: cluster.coordinator.address });
  await fsp.writeFile(inA('shared'), 'data');
});

after(async () => {
  await a?.stop();
  await b?.stop();
  if (dirs) await removeFuseTestDirs(dirs);
  await execFileAsync('fusermount3', ['-uz', mntB]).catch(() => undefined);
  await cluster?.stop();
});

describe('cluster fcntl and flock locks on the low-level mount', () => {
  it('an fcntl lock through one mount excludes the same lock through the other until released', async () => {
    const holder = await holdLock(inA('shared'));
    assert.equal((await py(TRY_LOCK, inB('shared'))).stdout.trim(), 'EAGAIN');
    const token = (await py('import os,sys\nprint(os.getxattr(sys.argv[1],"coherd.fencing").decode())', inA('shared'))).stdout.trim();
    assert.match(token, /^\d+\.\d+$/);
    holder.stdin!.end();
    await new Promise((r) => holder.once('exit', r));
    assert.equal((await py(TRY_LOCK, inB('shared'))).stdout.trim(), 'got');
  });

  it('flock(1) on one mount excludes flock(1) on the other', async () => {
    // Its own process group: the lock fd is shared by flock, sh and sleep; all must die to free it.
    const held = spawn('flock', ['-x', inA('shared'), '-c', 'echo held; sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
    await new Promise<void>((r) => held.stdout!.on('data', () => r()));
    const busy = await execFileAsync('flock', ['-n', '-x', inB('shared'), 'true']).then(() => 0, (e: { code: number }) => e.code);
    assert.equal(busy, 1);
    const exited = new Promise((r) => held.once('exit', r));
    process.kill(-held.pid!, 'SIGKILL');
    await exited;
    const free = await execFileAsync('flock', ['-w', '10', '-x', inB('shared'), 'true']).then(() => 0, (e: { code: number }) => e.code);
    assert.equal(free, 0, 'the killed holder released its flock');
  });

  it('a holder killed frees its fcntl lock for a waiter on the other mount', async () => {
    const holder = await holdLock(inA('shared'));
    const waiter = py('import fcntl,sys\nf=open(sys.argv[1],"r+")\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint("got")', inB('shared'));
    await new Promise((r) => setTimeout(r, 300));
    holder.kill('SIGKILL');
    assert.equal((await waiter).stdout.trim(), 'got');
  });

  it('a blocked F_SETLKW is interrupted by a signal and does not take the lock later', async () => {
    const holder = await holdLock(inA('shared'));
    const code = 'import fcntl,sys,signal\ndef h(s,f): raise TimeoutError()\nsignal.signal(signal.SIGALRM,h)\nsignal.alarm(1)\nf=open(sys.argv[1],"r+")\ntry:\n  fcntl.lockf(f,fcntl.LOCK_EX)\n  print("got")\nexcept TimeoutError: print("interrupted")';
    assert.equal((await py(code, inB('shared'))).stdout.trim(), 'interrupted');
    holder.stdin!.end();
    await new Promise((r) => holder.once('exit', r));
    assert.equal((await py(TRY_LOCK, inA('shared'))).stdout.trim(), 'got', 'the interrupted wait left nothing behind');
  });

  it('a deadlock across the two mounts fails one waiter with EDEADLK', async () => {
    // Each process locks its own byte, then asks for the other's: a cycle in the coordinator's wait-for graph.
    const code = 'import fcntl,sys,errno,time\nf=open(sys.argv[1],"r+")\nfcntl.lockf(f,fcntl.LOCK_EX,1,int(sys.argv[2]))\nprint("first",flush=True)\nsys.stdin.readline()\ntry:\n  fcntl.lockf(f,fcntl.LOCK_EX,1,int(sys.argv[3]))\n  print("got",flush=True)\nexcept OSError as e: print(errno.errorcode[e.errno],flush=True)\nsys.stdin.read()';
    const start = (path: string, mine: number, theirs: number) => {
      const p = spawn('/usr/bin/python3', ['-c', code, path, String(mine), String(theirs)], { stdio: ['pipe', 'pipe', 'pipe'] });
      const lines: string[] = [];
      p.stdout!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
      const exited = new Promise((r) => p.once('exit', r));
      return { p, lines, exited };
    };
    const x = start(inA('shared'), 10, 11);
    const y = start(inB('shared'), 11, 10);
    const until = async (f: () => boolean) => { for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 25)); };
    await until(() => x.lines.includes('first') && y.lines.includes('first'));
    x.p.stdin!.write('\n');
    await new Promise((r) => setTimeout(r, 300));
    y.p.stdin!.write('\n');
    await until(() => y.lines.length > 1);
    assert.ok(['EDEADLK', 'EDEADLOCK'].includes(y.lines[1]), y.lines[1]); // one errno, two names in Python
    y.p.stdin!.end();
    await until(() => x.lines.length > 1);
    assert.equal(x.lines[1], 'got', 'once the other side gave up, the first waiter got its lock');
    x.p.stdin!.end();
    await Promise.all([x.exited, y.exited]);
  });
});
