import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { AgentCluster } from '../support/agent-cluster';
import { eventually } from '../support/eventually';
import { ReplicaProcess } from '../support/replica-process';
import { scrapeMetrics } from '../../src/cli/metrics-scrape';

/**
 * copy_file_range on the agent mount (docs/fuse.md, "copy_file_range"): the
 * kernel sends the op, the agent copies in the backing store's kernel under
 * the tokens a read of the source and a write of the destination take.
 * Two real agents (kernel page cache on), etcd, a coordinator and a
 * replica following both journals; every copy and read by cp, python3 or
 * sh in a child process.
 */
let cluster: AgentCluster;
let replica: ReplicaProcess | undefined;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const A = (rel: string) => cluster.mnt(0, rel);
const B = (rel: string) => cluster.mnt(1, rel);
const sh = (cmd: string) => cluster.sh(cmd, { timeoutMs: 60_000 });
const py = async (code: string, ...args: string[]) => (await sh(`python3 -c ${q(code)} ${args.map(q).join(' ')}`)).trim();
const md5 = async (path: string) => (await sh(`md5sum < ${q(path)}`)).trim();
/** copyFileRange vops agent i ran that succeeded (the kernel falls back to READ and WRITE after a failed one). */
async function copies(i: number): Promise<number> {
  const samples = await scrapeMetrics(cluster.agents[i].metricsAddress!);
  return samples.filter((s) => s.name === 'coherd_agent_vop_duration_seconds_count' && s.labels.op === 'copyFileRange' && s.labels.result === 'ok').reduce((n, s) => n + s.value, 0);
}

/** os.copy_file_range of argv[3] bytes from argv[1]@argv[4] to argv[2]@argv[5], looping over short counts: the total. */
const COPY = `
import os, sys
i = os.open(sys.argv[1], os.O_RDONLY)
o = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT, 0o644)
left, si, so, total = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), 0
while left > 0:
    n = os.copy_file_range(i, o, left, offset_src=si, offset_dst=so)
    if n == 0: break
    left -= n; si += n; so += n; total += n
print(total)`;

/** copy_file_range(2) with flags argv[3] (python has no flags argument): OK or the errno name. */
const COPY_FLAGS = `
import ctypes, os, sys, errno
libc = ctypes.CDLL(None, use_errno=True)
libc.copy_file_range.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint]
i = os.open(sys.argv[1], os.O_RDONLY); o = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT, 0o644)
r = libc.copy_file_range(i, None, o, None, 4096, int(sys.argv[3]))
print('OK' if r >= 0 else errno.errorcode[ctypes.get_errno()])`;

before(async () => {
  cluster = await AgentCluster.start({
    agents: 2,
    agentArgs: ['--metrics-listen', '127.0.0.1:0', '--kernel-page-cache', 'yes'],
    // Direct mode off: a replica cannot replay direct-mode writes in order (docs/replication.md).
    coordinatorArgs: ['--direct-mode-alone', '0'],
  });
  // Without --backing: it can only learn the files from the journals (no rescan of the store).
  replica = await ReplicaProcess.start({ namespace: 'e2e', journalRoots: cluster.agents.map((a) => a.stateDir), mirrorDir: cluster.tmp('mirror'), name: 'cfr' });
});

after(async () => {
  await replica?.stop();
  await cluster?.stop();
});

describe('copy_file_range across two agents', () => {
  it('cp on A copies through the op; B reads the copy byte for byte', { timeout: 90_000 }, async () => {
    await sh(`head -c 20000000 /dev/urandom > ${q(A('src'))}`);
    const before = await copies(0);
    // --sparse=never: A's attributes of a file it wrote report st_blocks 0 (docs/fuse.md, "copy_file_range"), and
    // cp's sparse detection would then copy it by SEEK_DATA and read/write instead.
    await sh(`cp --sparse=never ${q(A('src'))} ${q(A('dst'))}`);
    // Without the op the kernel splices through READ and WRITE: no copyFileRange vop at all. 20 MB: two requests (16 MiB each at most).
    assert.equal((await copies(0)) - before, 2, 'A copied through two copyFileRange vops');
    assert.equal(await md5(B('dst')), await md5(cluster.bak('src')));
    assert.equal((await fsp.stat(cluster.bak('dst'))).size, 20000000);
  });

  it('copies within one file to a range that does not overlap, and refuses flags and overlapping ranges with EINVAL', { timeout: 60_000 }, async () => {
    await sh(`printf 'abcdefgh' > ${q(A('same'))}`);
    assert.equal(await py(COPY, A('same'), A('same'), '4', '0', '8'), '4');
    assert.equal((await sh(`cat ${q(B('same'))}`)), 'abcdefghabcd');
    assert.equal(await py(COPY_FLAGS, A('same'), A('flags-dst'), '1'), 'EINVAL');
    const overlap = 'import os,sys\nfd=os.open(sys.argv[1],os.O_RDWR)\ntry: os.copy_file_range(fd,fd,8,offset_src=0,offset_dst=4); print("OK")\nexcept OSError as e: print(e.strerror)';
    assert.equal(await py(overlap, A('same')), 'Invalid argument');
  });

  it('a copy on A of a file B just wrote (still in B\'s write-back: B\'s handle stays open) copies B\'s new bytes', { timeout: 60_000 }, async () => {
    await sh(`printf 'old-old-old-old-' > ${q(A('fresh'))}`);
    assert.equal(await sh(`cat ${q(B('fresh'))}`), 'old-old-old-old-');
    // One process, two mounts: B's write is not closed (a close flushes it) when A copies, well within B's 1 s flush delay.
    const code = `
import os, sys
b = os.open(sys.argv[1], os.O_WRONLY)
os.pwrite(b, b'NEW-', 4)
i = os.open(sys.argv[2], os.O_RDONLY); o = os.open(sys.argv[3], os.O_WRONLY | os.O_CREAT, 0o644)
n = os.copy_file_range(i, o, 16, offset_src=0, offset_dst=0)
os.close(o); os.close(i); os.close(b)
print(n)`;
    assert.equal(await py(code, B('fresh'), A('fresh'), A('fresh-copy')), '16');
    assert.equal(await sh(`cat ${q(B('fresh-copy'))}`), 'old-NEW-old-old-');
    assert.equal(await fsp.readFile(cluster.bak('fresh-copy'), 'utf8'), 'old-NEW-old-old-');
  });

  it('a copy on A onto a range A\'s kernel caches (a read-only handle read it) is what that handle reads next', { timeout: 60_000 }, async () => {
    await sh(`printf 'cached-bytes-here' > ${q(A('target'))} && printf 'COPIED' > ${q(A('patch'))}`);
    const code = `
import os, sys
t, p = sys.argv[1], sys.argv[2]
r = os.open(t, os.O_RDONLY)
os.pread(r, 64, 0); os.pread(r, 64, 0)
i = os.open(p, os.O_RDONLY); w = os.open(t, os.O_WRONLY)
n = os.copy_file_range(i, w, 6, offset_src=0, offset_dst=7)
print(n, os.pread(r, 64, 0).decode())`;
    assert.equal(await py(code, A('target'), A('patch')), '6 cached-COPIEDhere');
    assert.equal(await sh(`cat ${q(B('target'))}`), 'cached-COPIEDhere');
  });

  it('the replica holds every copy: its mirror matches the backing directory', { timeout: 120_000 }, async () => {
    await sh(`head -c 1000000 /dev/urandom > ${q(A('r-src'))} && cp ${q(A('r-src'))} ${q(B('r-dst'))}`);
    await eventually(async () => {
      const v = await replica!.verify(cluster.backingDir);
      assert.equal(v.code, 0, `verify: ${v.stdout}${v.stderr}`);
    }, 60_000, 500);
    const mirrored = await fsp.readFile(cluster.tmp('mirror/r-dst'));
    assert.equal(createHash('md5').update(mirrored).digest('hex'), createHash('md5').update(await fsp.readFile(cluster.bak('r-src'))).digest('hex'));
  });
});

describe('copy_file_range turned off (--copy-file-range no)', () => {
  let off: AgentCluster | undefined;
  after(async () => {
    await off?.stop();
  });

  it('answers ENOSYS, and cp still copies (the kernel goes through READ and WRITE)', { timeout: 90_000 }, async () => {
    off = await AgentCluster.start({ agents: 1, agentArgs: ['--metrics-listen', '127.0.0.1:0', '--copy-file-range', 'no'] });
    const m = (rel: string) => off!.mnt(0, rel);
    await off.sh(`head -c 3000000 /dev/urandom > ${q(m('src'))} && cp --sparse=never ${q(m('src'))} ${q(m('dst'))}`);
    assert.equal((await off.sh(`md5sum < ${q(m('dst'))}`)).trim(), (await off.sh(`md5sum < ${q(off.bak('src'))}`)).trim());
    const samples = await scrapeMetrics(off.agents[0].metricsAddress!);
    assert.equal(samples.filter((s) => s.name === 'coherd_agent_vop_duration_seconds_count' && s.labels.op === 'copyFileRange').length, 0, 'no copyFileRange vop ran');
    assert.ok(samples.some((s) => s.name === 'coherd_agent_vop_duration_seconds_count' && s.labels.op === 'write' && s.value > 0), 'the copy came as writes');
  });
});
