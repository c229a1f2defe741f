import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promises as fsp } from 'node:fs';
import { vopCounts } from '../support/vop-counts';
import { AgentCluster } from '../support/agent-cluster';
import { assertEveryHostReads, slotsWritten } from '../support/host-slots';

/**
 * The kernel cache on the agent mount (docs/fuse.md, "Kernel cache"): the
 * kernel answers fstat/stat itself while its host holds the file's attr
 * token, keeps names while it holds the directory's dir token, and drops
 * what it cached before another host gets the token. Two
 * real agents over one backing directory, real etcd and coordinator.
 */
let cluster: AgentCluster;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const A = (rel: string) => cluster.mnt(0, rel);
const B = (rel: string) => cluster.mnt(1, rel);
const py = async (code: string, ...args: string[]) => (await cluster.sh(`python3 -c ${q(code)} ${args.map(q).join(' ')}`)).trim();

/** getattr vops agent i has run so far (lookups included: each is one getattr vop). */
async function getattrVops(i: number): Promise<number> {
  return (await vopCounts(cluster.agents[i])).getattr ?? 0;
}

/** Opens the file on A, fstats it (the kernel caches), then lets B chmod, truncate and utime it; A's fstat after each. */
const ATTRS_AFTER_B = `
import os, sys, json
a, b = sys.argv[1], sys.argv[2]
fd = os.open(a, os.O_RDONLY)
os.fstat(fd); os.fstat(fd)
out = {}
os.chmod(b, 0o600); out['mode'] = oct(os.fstat(fd).st_mode & 0o777)
os.truncate(b, 3); out['size'] = os.fstat(fd).st_size
os.utime(b, (1000000000, 1000000000)); out['mtime'] = int(os.fstat(fd).st_mtime)
out['path_mode'] = oct(os.stat(a).st_mode & 0o777)
os.close(fd)
print(json.dumps(out))
`;

async function attrsSeenAfterB(name: string): Promise<Record<string, unknown>> {
  await cluster.sh(`printf 'hello world' > ${q(A(name))} && chmod 644 ${q(A(name))}`);
  return JSON.parse(await py(ATTRS_AFTER_B, A(name), B(name))) as Record<string, unknown>;
}

const WANT_AFTER_B = { mode: '0o600', size: 3, mtime: 1000000000, path_mode: '0o600' };

/** A looks names up in a directory (the kernel keeps them), B changes them; what A's next lookups find. */
const NAMES_AFTER_B = `
import os, sys, json
a, b = sys.argv[1], sys.argv[2]
def seen(name):
    p = os.path.join(a, name)
    try: os.stat(p)
    except FileNotFoundError: return 'ENOENT'
    try:
        with open(p) as f: return f.read()
    except FileNotFoundError: return 'stat only'  # a name the kernel kept, whose file the agent's open did not find
for n in ('x', 'r'):
    with open(os.path.join(a, n), 'w') as f: f.write(n)
# stat only: a read marks atime stale, and the stat after it would ask the agent, which resolves paths itself
for _ in range(3):
    os.stat(os.path.join(a, 'x')); os.stat(os.path.join(a, 'r'))
    try: os.stat(os.path.join(a, 'w'))  # not there yet: a negative entry
    except FileNotFoundError: pass
out = {}
os.rename(os.path.join(b, 'x'), os.path.join(b, 'y')); out['renamed_from'] = seen('x'); out['renamed_to'] = seen('y')
os.unlink(os.path.join(b, 'y')); out['removed'] = seen('y')
with open(os.path.join(b, 'w'), 'w') as f: f.write('w')
out['created'] = seen('w')
with open(os.path.join(b, 'r2'), 'w') as f: f.write('replaced')
os.rename(os.path.join(b, 'r2'), os.path.join(b, 'r')); out['replaced'] = seen('r')
print(json.dumps(out))
`;

async function namesSeenAfterB(dir: string): Promise<Record<string, unknown>> {
  await cluster.sh(`mkdir ${q(A(dir))}`);
  return JSON.parse(await py(NAMES_AFTER_B, A(dir), B(dir))) as Record<string, unknown>;
}

const WANT_NAMES_AFTER_B = { renamed_from: 'ENOENT', renamed_to: 'x', removed: 'ENOENT', created: 'w', replaced: 'replaced' };

before(async () => {
  cluster = await AgentCluster.start({ agents: 2, agentArgs: ['--metrics-listen', '127.0.0.1:0'] });
});

after(async () => {
  await cluster?.stop();
});

describe('kernel attribute cache under attr tokens', () => {
  it('answers fstat on a file this host holds attr READ on from the kernel: no getattr request reaches the agent', { timeout: 60_000 }, async (t) => {
    await cluster.sh(`printf data > ${q(A('fst'))}`);
    const fstats = `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.fstat(fd)
for _ in range(200): os.fstat(fd)
os.close(fd)
print('ok')`;
    await py(fstats, A('fst')); // warm: A holds the attr token from now on
    const before = await getattrVops(0);
    assert.equal(await py(fstats, A('fst')), 'ok');
    const fstatCost = (await getattrVops(0)) - before;
    assert.ok(fstatCost <= 10, `201 fstats cost ${fstatCost} getattr requests (the kernel should answer them)`);

    const stats = `
import os, sys
for _ in range(100): os.stat(sys.argv[1])
print('ok')`;
    const before2 = await getattrVops(0);
    assert.equal(await py(stats, A('fst')), 'ok');
    const statCost = (await getattrVops(0)) - before2;
    // A stat by path walks the root (its attributes: the permission check) and looks the name up; with A holding the
    // root's dir token and the file's attr token the kernel keeps both, so only a refresh once a timeout ran out reaches
    // the agent (uncached: 3 per stat, 300 in all).
    t.diagnostic(`201 fstats: ${fstatCost} getattr vops; 100 stats by path: ${statCost}`);
    assert.ok(statCost <= 10, `100 stats by path cost ${statCost} getattr vops (the kernel should keep the names and the root's attributes)`);
  });

  it('shows on A, at once, the mode, size and mtime B just set on a file A had cached', { timeout: 60_000 }, async () => {
    assert.deepEqual(await attrsSeenAfterB('chg'), WANT_AFTER_B);
  });

  it('a directory\'s attributes are never cached: a file B creates in it moves its mtime on A at once', { timeout: 60_000 }, async () => {
    await cluster.sh(`mkdir ${q(A('dm'))}`);
    const code = `
import os, sys, time
a, b = sys.argv[1], sys.argv[2]
m0 = os.stat(a).st_mtime_ns
time.sleep(0.02)
open(os.path.join(b, 'new'), 'w').close()
print('moved' if os.stat(a).st_mtime_ns != m0 else 'same')`;
    assert.equal(await py(code, A('dm'), B('dm')), 'moved');
  });

  it('shows on A, at once, names B renamed, removed, created or replaced in a directory whose names A had cached', { timeout: 60_000 }, async () => {
    assert.deepEqual(await namesSeenAfterB('nm'), WANT_NAMES_AFTER_B);
  });

  it('a re-read on A after B wrote returns B\'s bytes', { timeout: 60_000 }, async () => {
    await cluster.sh(`printf 'first version' > ${q(A('rr'))}`);
    const code = `
import os, sys
a, b = sys.argv[1], sys.argv[2]
fd = os.open(a, os.O_RDONLY)
os.pread(fd, 100, 0); os.pread(fd, 100, 0)
w = os.open(b, os.O_WRONLY)
os.pwrite(w, b'SECOND', 0)
os.close(w)
print(os.pread(fd, 100, 0).decode())
os.close(fd)`;
    assert.equal(await py(code, A('rr'), B('rr')), 'SECONDversion');
  });

  it('keeps a page cache by default: a shared read-only mapping of a file works and sees another host\'s write', { timeout: 60_000 }, async () => {
    await cluster.sh(`printf 'mapped?' > ${q(A('map'))}`);
    const code = `
import mmap, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(fd, 7, mmap.MAP_SHARED, mmap.PROT_READ)
first = m[:7].decode()
with open(sys.argv[2], 'r+') as f: f.write('MAPPED!')
print(first, m[:7].decode())`;
    assert.equal(await py(code, A('map'), B('map')), 'mapped? MAPPED!', 'the default is --kernel-page-cache yes (docs/fuse.md)');
  });

  it('keeps none with --kernel-page-cache no: a read-only open is direct_io, so a shared mapping of it is refused with ENODEV', { timeout: 60_000 }, async () => {
    const solo = await AgentCluster.start({ agents: 1, agentArgs: ['--kernel-page-cache', 'no'] });
    try {
      await solo.sh(`printf 'mapped?' > ${q(solo.mnt(0, 'nomap'))}`);
      const code = `
import errno, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    mmap.mmap(fd, 7, mmap.MAP_SHARED, mmap.PROT_READ); print('mapped')
except OSError as e:
    print(errno.errorcode[e.errno])`;
      assert.equal((await solo.sh(`python3 -c ${q(code)} ${q(solo.mnt(0, 'nomap'))}`)).trim(), 'ENODEV');
    } finally {
      await solo.stop();
    }
  });

  it('two hosts that read one file and then write it at once, 20 rounds: no error, no eviction, every write kept', { timeout: 120_000 }, async () => {
    const sessions = [cluster.agents[0].sessionId, cluster.agents[1].sessionId];
    await cluster.sh(`head -c 8192 /dev/zero > ${q(A('both'))}`);
    const code = `
import os, sys
path, host = sys.argv[1], int(sys.argv[2])
for r in range(20):
    fd = os.open(path, os.O_RDWR)
    os.pread(fd, 8192, 0); os.fstat(fd)
    os.pwrite(fd, bytes([65 + r]) * 16, host * 4096 + r * 16)
    os.fstat(fd)
    os.close(fd)
print('ok')`;
    const [ra, rb] = await Promise.all([cluster.run(`python3 -c ${q(code)} ${q(A('both'))} 0`), cluster.run(`python3 -c ${q(code)} ${q(B('both'))} 1`)]);
    assert.equal(ra.stdout.trim() + rb.stdout.trim(), 'okok', `A: ${ra.stderr} B: ${rb.stderr}`);
    await assertEveryHostReads(cluster, 'both', slotsWritten());
    assert.deepEqual([cluster.agents[0].sessionId, cluster.agents[1].sessionId], sessions, 'no agent lost its session');
    assert.deepEqual((await cluster.liveSessions()).sort(), [...sessions].sort());
  });

  it('fails with the invalidation planted away: A then serves the attributes and names it had cached (the checks above can fail)', { timeout: 90_000 }, async () => {
    process.env.COHERD_TEST_PLANT = 'skip-kernel-invalidation';
    try {
      await cluster.restartAgent(0);
    } finally {
      delete process.env.COHERD_TEST_PLANT;
    }
    try {
      await cluster.sh(`mkdir ${q(A('planted-mv'))}`);
      const seen = await attrsSeenAfterB('planted');
      assert.notDeepEqual(seen, WANT_AFTER_B, 'without the invalidation A must see stale attributes');
      assert.equal(seen.mode, '0o644', 'A\'s kernel still had the mode it cached');
      // A still holds the name m1 that B moved to m2, and then looks m2 up: a rename of m1 over m2 on A must reach the
      // agent (and fail: m1 is gone), not be taken by A's kernel for one between two hard links of a file.
      const renamed = await py(`
import os, sys
a, b = sys.argv[1], sys.argv[2]
with open(os.path.join(a, 'm1'), 'w') as f: f.write('x')
os.stat(os.path.join(a, 'm1'))
os.rename(os.path.join(b, 'm1'), os.path.join(b, 'm2'))
os.stat(os.path.join(a, 'm2'))
try:
    os.rename(os.path.join(a, 'm1'), os.path.join(a, 'm2')); print('renamed')
except FileNotFoundError: print('ENOENT')`, A('planted-mv'), B('planted-mv'));
      assert.equal(renamed, 'ENOENT');
      const names = await namesSeenAfterB('planted-names');
      assert.notEqual(names.renamed_from, 'ENOENT', 'A\'s kernel still had the name B renamed away');
      assert.equal(names.created, 'ENOENT', 'A\'s kernel still had the name B created as missing');
    } finally {
      await cluster.restartAgent(0);
    }
    assert.deepEqual(await attrsSeenAfterB('unplanted'), WANT_AFTER_B);
  });
});
