import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promises as fsp } from 'node:fs';
import { AgentCluster } from '../support/agent-cluster';
import { vopCounts } from '../support/vop-counts';
import { assertEveryHostReads, slotsWritten } from '../support/host-slots';

/**
 * Writable shared mappings on the agent mount (docs/fuse.md, "Writable
 * shared mappings"; `--writable-mappings yes`): an O_RDWR open is cached, so MAP_SHARED with
 * PROT_WRITE works; the pages it dirties lie under this host's whole-file
 * data WRITE token, and another host's read or write of the file revokes
 * that token, which writes them back first. Two real agents over one
 * backing directory, real etcd and coordinator; python3 maps the files.
 */
let cluster: AgentCluster;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const A = (rel: string) => cluster.mnt(0, rel);
const B = (rel: string) => cluster.mnt(1, rel);
const py = async (code: string, ...args: string[]) => (await cluster.sh(`python3 -c ${q(code)} ${args.map(q).join(' ')}`)).trim();

describe('agent mount: writable shared mappings', () => {
  before(async () => {
    cluster = await AgentCluster.start({ agents: 2, agentArgs: ['--writable-mappings', 'yes', '--metrics-listen', '127.0.0.1:0'] });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('lets another host read what a store through a mapping wrote, before any msync or close', { timeout: 60_000 }, async () => {
    await cluster.sh(`head -c 8192 /dev/zero > ${q(A('early'))}`);
    const code = `
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[100:108] = b'A-MAPPED'
other = os.open(sys.argv[2], os.O_RDONLY)
seen = os.pread(other, 8, 100)
os.close(other)
print(seen.decode(), m[100:108].decode())
m.close(); os.close(fd)`;
    assert.equal(await py(code, A('early'), B('early')), 'A-MAPPED A-MAPPED');
    assert.equal((await fsp.readFile(cluster.bak('early'))).subarray(100, 108).toString(), 'A-MAPPED');
  });

  it('shows another host\'s write through the mapping, and keeps the mapping\'s own stores around it', { timeout: 60_000 }, async () => {
    await cluster.sh(`head -c 8192 /dev/zero > ${q(A('mixed'))}`);
    const code = `
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[0:4] = b'AAAA'
other = os.open(sys.argv[2], os.O_WRONLY)
os.pwrite(other, b'BBBB', 4096)
os.pwrite(other, b'bb', 6)
os.close(other)
after_b = m[0:8] + m[4096:4100]
m[8:12] = b'CCCC'
m.flush()
print(after_b.decode())
m.close(); os.close(fd)`;
    assert.equal(await py(code, A('mixed'), B('mixed')), 'AAAA\0\0bbBBBB');
    const want = Buffer.alloc(8192);
    want.write('AAAA', 0);
    want.write('bb', 6);
    want.write('CCCC', 8);
    want.write('BBBB', 4096);
    assert.ok((await fsp.readFile(cluster.bak('mixed'))).equals(want), 'the backing file holds every store and write');
    const onB = Buffer.from((await cluster.sh(`base64 -w0 ${q(B('mixed'))}`)).trim(), 'base64');
    assert.ok(onB.equals(want), 'B reads them all');
  });

  it('a write(2) through another descriptor of the same host after a store through the mapping wins, in the file and in the mapping', { timeout: 60_000 }, async () => {
    await cluster.sh(`head -c 8192 /dev/zero > ${q(A('local'))}`);
    const code = `
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[0:8] = b'MAPPED!!'
w = os.open(sys.argv[1], os.O_WRONLY)  # direct_io: its bytes bypass the kernel's pages
os.pwrite(w, b'WRITTEN!', 0)
os.close(w)
print(m[0:8].decode())
m.close(); os.close(fd)`;
    assert.equal(await py(code, A('local')), 'WRITTEN!', 'the mapping shows the later write');
    assert.equal((await fsp.readFile(cluster.bak('local'))).subarray(0, 8).toString(), 'WRITTEN!', 'the dirty page was not written back over the later write');
  });

  it('asks the store for security.capability once, not at every write(2) of a cached read-write handle', { timeout: 60_000 }, async () => {
    await cluster.sh(`head -c 65536 /dev/zero > ${q(A('caps-once'))}`);
    const before = (await vopCounts(cluster.agents[0])).getxattr ?? 0;
    const code = 'import os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\nfor i in range(200): os.pwrite(fd, b"x" * 100, i * 300)\nos.close(fd)\nprint("ok")';
    assert.equal(await py(code, A('caps-once')), 'ok');
    const asked = ((await vopCounts(cluster.agents[0])).getxattr ?? 0) - before;
    assert.ok(asked >= 1 && asked <= 2, `getxattr vops for 200 writes: ${asked}`);
  });

  it('reads a capability another host set after this host\'s writes found none (the absence is kept only under the attr token)', { timeout: 60_000 }, async () => {
    await cluster.sh(`head -c 4096 /dev/zero > ${q(A('caps-set'))}`);
    const code = `
import os, subprocess, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.pwrite(fd, b'first', 0)  # the kernel asks for security.capability: none, kept under A's attr token
subprocess.run(['setcap', 'cap_net_raw+ep', sys.argv[2]], check=True)  # B's setxattr takes attr WRITE
print(subprocess.run(['getcap', sys.argv[1]], capture_output=True, text=True, check=True).stdout.split()[-1])
os.close(fd)`;
    assert.equal(await py(code, A('caps-set'), B('caps-set')), 'cap_net_raw=ep');
  });

  it('two hosts store through mappings of one file at once, 20 rounds each: every store kept, no session lost', { timeout: 120_000 }, async () => {
    const sessions = [cluster.agents[0].sessionId, cluster.agents[1].sessionId];
    await cluster.sh(`head -c 8192 /dev/zero > ${q(A('both'))}`);
    const code = `
import mmap, os, sys
path, host = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
for r in range(20):
    m[:]  # reads every page: the other host's stores come in
    at = host * 4096 + r * 16
    m[at:at + 16] = bytes([65 + r]) * 16
m.flush()
m.close(); os.close(fd)
print('ok')`;
    const [ra, rb] = await Promise.all([cluster.run(`python3 -c ${q(code)} ${q(A('both'))} 0`), cluster.run(`python3 -c ${q(code)} ${q(B('both'))} 1`)]);
    assert.equal(ra.stdout.trim() + rb.stdout.trim(), 'okok', `A: ${ra.stderr} B: ${rb.stderr}`);
    await assertEveryHostReads(cluster, 'both', slotsWritten());
    assert.deepEqual([cluster.agents[0].sessionId, cluster.agents[1].sessionId], sessions, 'no agent lost its session');
  });

  it('runs SQLite in WAL mode (its -shm file is a shared writable mapping), and another host reads the database after', { timeout: 60_000 }, async () => {
    const code = `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
mode = c.execute('pragma journal_mode=wal').fetchone()[0]
c.execute('create table t(x integer)')
for i in range(20):
    with c: c.executemany('insert into t values (?)', [(i * 10 + j,) for j in range(10)])
n = c.execute('select count(*), sum(x) from t').fetchone()
c.close()
print(mode, n[0], n[1])`;
    assert.equal(await py(code, A('wal.db')), 'wal 200 19900');
    const read = `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(*c.execute('select count(*), sum(x) from t').fetchone())`;
    assert.equal(await py(read, B('wal.db')), '200 19900');
  });

  it('refuses such a mapping with ENODEV by default (--writable-mappings no: the read-write open is direct_io)', { timeout: 60_000 }, async () => {
    const solo = await AgentCluster.start({ agents: 1 });
    try {
      await solo.sh(`head -c 4096 /dev/zero > ${q(solo.mnt(0, 'nomap'))}`);
      const code = `
import errno, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE); print('mapped')
except OSError as e:
    print(errno.errorcode[e.errno])`;
      assert.equal((await solo.sh(`python3 -c ${q(code)} ${q(solo.mnt(0, 'nomap'))}`)).trim(), 'ENODEV');
    } finally {
      await solo.stop();
    }
  });
});
