import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChildProcess, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { AgentCluster } from '../support/agent-cluster';
import { execFileAsync } from '../support/fuse-mount';
import { runCli } from '../support/cluster';

/**
 * Cluster fcntl and flock locks on the agent mount: two real `coherd
 * agent` processes (two "hosts", two sessions) over one backing directory.
 * A lock taken by a program on mount A must exclude the same lock taken on
 * mount B, as a coherd range lock in A's session.
 */
let cluster: AgentCluster;
/** Every lock-holding python started; killed in after() if a failed test left one waiting on stdin. */
const holders = new Set<ChildProcess>();
const inA = (name: string) => cluster.mnt(0, name);
const inB = (name: string) => cluster.mnt(1, name);
const py = (code: string, ...args: string[]) => execFileAsync('/usr/bin/python3', ['-c', code, ...args], { timeout: 20000 });
const until = async (f: () => boolean) => { for (let i = 0; i < 400 && !f(); i++) await new Promise((r) => setTimeout(r, 25)); };

/** A python process that takes an fcntl lock [start, start+len) and prints "locked", then waits for stdin to close. */
function holdLock(path: string, start = 0, len = 0, kind = 'LOCK_EX'): Promise<ChildProcess> {
  const code = `import fcntl,sys,os\nf=open(sys.argv[1],"r+")\nfcntl.lockf(f,fcntl.${kind},int(sys.argv[3]),int(sys.argv[2]))\nprint("locked",flush=True)\nsys.stdin.read()`;
  const p = spawn('/usr/bin/python3', ['-c', code, path, String(start), String(len)], { stdio: ['pipe', 'pipe', 'pipe'] });
  holders.add(p);
  return new Promise((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('locked')) resolve(p); });
    p.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
}
const release = async (p: ChildProcess) => {
  const gone = new Promise((r) => p.once('exit', r));
  p.stdin!.end();
  await gone;
};

const TRY_LOCK = 'import fcntl,sys,errno\nf=open(sys.argv[1],"r+")\ntry:\n  fcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB,int(sys.argv[3]) if len(sys.argv)>3 else 0,int(sys.argv[2]) if len(sys.argv)>2 else 0)\n  print("got")\nexcept OSError as e: print(errno.errorcode[e.errno])';
/** F_GETLK of a whole-file write lock: "UNLCK" or the conflicting type. */
const GETLK = 'import fcntl,sys,struct\nf=open(sys.argv[1],"r+")\nr=fcntl.fcntl(f,fcntl.F_GETLK,struct.pack("hhqqi",fcntl.F_WRLCK,0,0,0,0))\nt=struct.unpack("hhqqi",r)[0]\nprint({fcntl.F_UNLCK:"UNLCK",fcntl.F_RDLCK:"RDLCK",fcntl.F_WRLCK:"WRLCK"}[t])';

/** F_GETLK of a whole-file write lock: "type start len pid" of the lock in the way. */
const GETLK_FULL = 'import fcntl,sys,struct\nf=open(sys.argv[1],"r+")\nr=struct.unpack("hhqqi",fcntl.fcntl(f,fcntl.F_GETLK,struct.pack("hhqqi",fcntl.F_WRLCK,0,0,0,0)))\nprint({fcntl.F_UNLCK:"UNLCK",fcntl.F_RDLCK:"RDLCK",fcntl.F_WRLCK:"WRLCK"}[r[0]],r[2],r[3],r[4])';

before(async () => {
  cluster = await AgentCluster.start({ agents: 2 });
  await fsp.writeFile(cluster.bak('shared'), 'data');
});

after(async () => {
  for (const p of holders) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await cluster?.stop();
});

describe('cluster fcntl and flock locks on the agent mount', () => {
  it('an fcntl lock on mount A excludes the same lock on mount B until released, and F_GETLK on B sees it', { timeout: 60_000 }, async () => {
    assert.equal((await py(GETLK, inB('shared'))).stdout.trim(), 'UNLCK');
    const holder = await holdLock(inA('shared'));
    assert.equal((await py(TRY_LOCK, inB('shared'))).stdout.trim(), 'EAGAIN');
    assert.equal((await py(GETLK, inB('shared'))).stdout.trim(), 'WRLCK');
    const token = (await py('import os,sys\nprint(os.getxattr(sys.argv[1],"coherd.fencing").decode())', inA('shared'))).stdout.trim();
    assert.match(token, /^\d+\.\d+$/);
    await release(holder);
    assert.equal((await py(TRY_LOCK, inB('shared'))).stdout.trim(), 'got');
  });

  it('F_GETLK reports a shared holder as a read lock; read locks on both mounts coexist', { timeout: 60_000 }, async () => {
    const a = await holdLock(inA('shared'), 0, 0, 'LOCK_SH');
    const b = await holdLock(inB('shared'), 0, 0, 'LOCK_SH');
    assert.equal((await py(GETLK, inB('shared'))).stdout.trim(), 'RDLCK');
    await release(a);
    await release(b);
  });

  it('F_GETLK reports the holder\'s type and byte range, and its pid when the holder is on the same host', { timeout: 60_000 }, async () => {
    const holder = await holdLock(inA('shared'), 10, 90, 'LOCK_SH');
    assert.equal((await py(GETLK_FULL, inB('shared'))).stdout.trim(), 'RDLCK 10 90 0', 'another host\'s pid means nothing here');
    assert.equal((await py(GETLK_FULL, inA('shared'))).stdout.trim(), `RDLCK 10 90 ${holder.pid}`);
    await release(holder);
    const whole = await holdLock(inA('shared'));
    assert.equal((await py(GETLK_FULL, inA('shared'))).stdout.trim(), `WRLCK 0 0 ${whole.pid}`, 'to the end of the file: len 0');
    await release(whole);
  });

  it('byte ranges: locks on disjoint ranges coexist across mounts, overlapping ones conflict', { timeout: 60_000 }, async () => {
    const holder = await holdLock(inA('shared'), 0, 100);
    assert.equal((await py(TRY_LOCK, inB('shared'), '100', '100')).stdout.trim(), 'got');
    assert.equal((await py(TRY_LOCK, inB('shared'), '99', '2')).stdout.trim(), 'EAGAIN');
    await release(holder);
  });

  it('flock(1) on mount A excludes flock(1) on mount B; killing the holder frees it', { timeout: 60_000 }, async () => {
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

  it('a holder killed on mount A frees its fcntl lock for a waiter on mount B', { timeout: 60_000 }, async () => {
    const holder = await holdLock(inA('shared'));
    const waiter = py('import fcntl,sys\nf=open(sys.argv[1],"r+")\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint("got")', inB('shared'));
    await new Promise((r) => setTimeout(r, 300));
    holder.kill('SIGKILL');
    assert.equal((await waiter).stdout.trim(), 'got');
  });

  it('a blocked F_SETLKW on mount B is interrupted by a signal and leaves nothing behind', { timeout: 60_000 }, async () => {
    const holder = await holdLock(inA('shared'));
    const code = 'import fcntl,sys,signal\ndef h(s,f): raise TimeoutError()\nsignal.signal(signal.SIGALRM,h)\nsignal.alarm(1)\nf=open(sys.argv[1],"r+")\ntry:\n  fcntl.lockf(f,fcntl.LOCK_EX)\n  print("got")\nexcept TimeoutError: print("interrupted")';
    assert.equal((await py(code, inB('shared'))).stdout.trim(), 'interrupted');
    await release(holder);
    assert.equal((await py(TRY_LOCK, inA('shared'))).stdout.trim(), 'got', 'the interrupted wait left nothing behind');
  });

  it('a deadlock across the two agents fails one waiter with EDEADLK', { timeout: 60_000 }, async () => {
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
    await until(() => x.lines.includes('first') && y.lines.includes('first'));
    x.p.stdin!.write('\n');
    await new Promise((r) => setTimeout(r, 300));
    y.p.stdin!.write('\n');
    await until(() => y.lines.length > 1);
    assert.ok(['EDEADLK', 'EDEADLOCK'].includes(y.lines[1]), y.lines[1]);
    y.p.stdin!.end();
    await until(() => x.lines.length > 1);
    assert.equal(x.lines[1], 'got', 'once the other side gave up, the first waiter got its lock');
    x.p.stdin!.end();
    await Promise.all([x.exited, y.exited]);
  });

  it('a lock taken through `coherd lock` on the file\'s resource excludes fcntl on the mount', { timeout: 60_000 }, async () => {
    const ino = (await fsp.stat(cluster.bak('shared'))).ino;
    const tryCli = () => runCli(['lock', `e2e/${ino}`, '--nonblock', '--coordinator', cluster.coordinatorAddress, '--', 'true'], {}, 15_000);
    const holder = await holdLock(inA('shared'));
    try {
      const r = await tryCli();
      assert.notEqual(r.code, 0, `coherd lock got a lock the fcntl holder has: ${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stderr, /unreachable/);
    } finally {
      await release(holder);
    }
    const free = await tryCli();
    assert.equal(free.code, 0, free.stderr);
  });
});
