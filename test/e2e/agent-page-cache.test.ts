import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { vopCounts } from '../support/vop-counts';
import { AgentCluster } from '../support/agent-cluster';

/**
 * The kernel page cache on the agent mount (docs/fuse.md, "The page
 * cache"): O_RDONLY opens are served from the kernel's pages while the host
 * holds a whole-file data token, and the pages go before another host may
 * write. Two real agents over one backing directory, real etcd and
 * coordinator; reads and maps by python3 in a child process.
 */
let cluster: AgentCluster;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const A = (rel: string) => cluster.mnt(0, rel);
const B = (rel: string) => cluster.mnt(1, rel);
const py = async (code: string, ...args: string[]) => (await cluster.sh(`python3 -c ${q(code)} ${args.map(q).join(' ')}`)).trim();

/** read vops agent i has run so far. */
async function readVops(i: number): Promise<number> {
  return (await vopCounts(cluster.agents[i])).read ?? 0;
}

/**
 * A opens the file read-only, reads it and maps it shared (both fill the
 * kernel's pages), B writes over its first bytes; then what A's pread on
 * the same handle, A's mapping, and a new open on A return.
 */
const SEEN_AFTER_B = `
import os, sys, json, mmap
a, b = sys.argv[1], sys.argv[2]
fd = os.open(a, os.O_RDONLY)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
os.pread(fd, 100, 0); os.pread(fd, 100, 0); bytes(m[0:13]); bytes(m[0:13])
w = os.open(b, os.O_WRONLY)
os.pwrite(w, b'SECOND', 0)
os.close(w)
out = {'pread': os.pread(fd, 13, 0).decode(), 'mmap': bytes(m[0:13]).decode()}
with open(a, 'rb') as f: out['reopen'] = f.read(13).decode()
m.close(); os.close(fd)
print(json.dumps(out))
`;

async function seenAfterB(name: string): Promise<Record<string, string>> {
  await cluster.sh(`printf 'first version' > ${q(A(name))}`);
  return JSON.parse(await py(SEEN_AFTER_B, A(name), B(name))) as Record<string, string>;
}

/** A reads through one cached handle, B appends after each read (40 rounds): 'ok', or the first rounds A read wrong. */
const APPEND_ROUNDS = `
import os, sys
a, b = sys.argv[1], sys.argv[2]
fd = os.open(a, os.O_RDONLY)
w = os.open(b, os.O_WRONLY | os.O_APPEND)
bad = []
for r in range(40):
    os.write(w, b'%03d;' % r)
    got = os.pread(fd, 4096, 0)
    want = b''.join(b'%03d;' % i for i in range(r + 1))
    if got != want: bad.append((r, got[-12:].decode()))
os.close(w); os.close(fd)
print('ok' if not bad else repr(bad[:5]))`;

async function appendRounds(name: string): Promise<string> {
  await cluster.sh(`: > ${q(A(name))}`);
  return py(APPEND_ROUNDS, A(name), B(name));
}

const WANT_AFTER_B = { pread: 'SECONDversion', mmap: 'SECONDversion', reopen: 'SECONDversion' };

before(async () => {
  cluster = await AgentCluster.start({ agents: 2, agentArgs: ['--metrics-listen', '127.0.0.1:0', '--kernel-page-cache', 'yes'] });
});

after(async () => {
  await cluster?.stop();
});

describe('kernel page cache under data tokens', () => {
  it('serves a re-read of a file this host holds READ on from the kernel: no read request reaches the agent', { timeout: 60_000 }, async (t) => {
    await cluster.sh(`head -c 1048576 /dev/urandom > ${q(A('big'))}`);
    await cluster.sh(`cat ${q(A('big'))} > /dev/null`); // the first read fills the kernel's pages
    const before = await readVops(0);
    const sums = await cluster.sh(`md5sum < ${q(A('big'))}; md5sum < ${q(A('big'))}; md5sum < ${q(cluster.bak('big'))}`);
    const cost = (await readVops(0)) - before;
    t.diagnostic(`two re-reads of 1 MiB: ${cost} read vops`);
    const [one, two, backing] = sums.trim().split('\n');
    assert.equal(one, backing);
    assert.equal(two, backing);
    assert.equal(cost, 0, `two re-reads of 1 MiB cost ${cost} read requests (the kernel should serve them)`);
  });

  it('fills the kernel\'s pages on a first read in READs of up to 1 MiB: the mount\'s readahead is raised from 128 KiB', { timeout: 60_000 }, async (t) => {
    await cluster.sh(`head -c 8388608 /dev/urandom > ${q(A('first'))}`);
    const before = await readVops(0);
    const sums = await cluster.sh(`md5sum < ${q(A('first'))}; md5sum < ${q(cluster.bak('first'))}`);
    const cost = (await readVops(0)) - before;
    t.diagnostic(`a first read of 8 MiB: ${cost} read vops`);
    const [read, backing] = sums.trim().split('\n');
    assert.equal(read, backing);
    assert.ok(cost <= 16, `a first read of 8 MiB cost ${cost} read requests (34 with the kernel's default readahead of 128 KiB)`);
  });

  it('shows on A, after B wrote, B\'s bytes through A\'s cached handle, A\'s shared mapping and a new open', { timeout: 60_000 }, async () => {
    assert.deepEqual(await seenAfterB('rw'), WANT_AFTER_B);
  });

  it('keeps a file read-only handle coherent while B appends to it, one append after each read, 40 rounds', { timeout: 90_000 }, async () => {
    assert.equal(await appendRounds('log'), 'ok');
  });

  it('keeps a read-only handle coherent while B overwrites its bytes in place (same size), one write after each read, 40 rounds', { timeout: 90_000 }, async () => {
    await cluster.sh(`printf 'r000;r000;' > ${q(A('inplace'))}`);
    const code = `
import os, sys
a, b = sys.argv[1], sys.argv[2]
fd = os.open(a, os.O_RDONLY)
w = os.open(b, os.O_WRONLY)
bad = []
for r in range(40):
    os.pwrite(w, b'r%03d;' % r, 5 * (r % 2))
    got = os.pread(fd, 4096, 0)
    if (b'r%03d;' % r) not in got or len(got) != 10: bad.append((r, got.decode()))
os.close(w); os.close(fd)
print('ok' if not bad else repr(bad[:5]))`;
    assert.equal(await py(code, A('inplace'), B('inplace')), 'ok');
  });

  it('shows a cached handle on A what a read-write handle on A itself wrote', { timeout: 60_000 }, async () => {
    await cluster.sh(`printf 'aaaaaaaaaa' > ${q(A('local'))}`);
    const code = `
import os, sys
a = sys.argv[1]
fd = os.open(a, os.O_RDONLY)
w = os.open(a, os.O_RDWR)
bad = []
for r in range(20):
    os.pread(fd, 4096, 0)
    os.pwrite(w, b'%02d' % r, 4)
    got = os.pread(fd, 4096, 0)
    if got != b'aaaa%02daaaa' % r: bad.append((r, got.decode()))
os.close(w); os.close(fd)
print('ok' if not bad else repr(bad[:5]))`;
    assert.equal(await py(code, A('local')), 'ok');
  });

  it('fails with the invalidation planted away: A then reads the bytes it had cached (the checks above can fail)', { timeout: 90_000 }, async () => {
    process.env.COHERD_TEST_PLANT = 'skip-kernel-invalidation';
    try {
      await cluster.restartAgent(0);
    } finally {
      delete process.env.COHERD_TEST_PLANT;
    }
    try {
      const seen = await seenAfterB('planted');
      assert.equal(seen.mmap, 'first version', 'A\'s mapping still shows the page it cached');
      assert.equal(seen.pread, 'first version', 'A\'s cached handle still reads the page it cached');
      // The token the pages were read under is gone: a new open is answered without keep_cache, and the kernel drops them.
      assert.equal(seen.reopen, 'SECONDversion', 'a new open on A must not keep pages no token covers');
      assert.notEqual(await appendRounds('planted-log'), 'ok', 'A\'s cached handle misses B\'s appends');
    } finally {
      await cluster.restartAgent(0);
    }
    assert.deepEqual(await seenAfterB('unplanted'), WANT_AFTER_B);
  });
});
