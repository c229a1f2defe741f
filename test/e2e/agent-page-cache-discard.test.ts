import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentCluster } from '../support/agent-cluster';

/**
 * A GETATTR reply the kernel throws away (docs/fuse.md, "The page cache",
 * drop-marks.ts): a page or attribute drop of a file bumps its inode's
 * attr_version, and the kernel discards a GETATTR reply whose request was
 * made before that bump. A cached read(2) waiting on that GETATTR then
 * reads up to the i_size the kernel had before, however far another host
 * has grown the file since. The agents here hold every GETATTR reply of a
 * file with a cached open for 400 ms after its attributes were read
 * (COHERD_TEST_PLANT=slow-getattr, a test hook), so that a revoke's page
 * drop on A lands inside it. Two real agents, real etcd and coordinator,
 * python3 in a child process.
 */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Per round, on a fresh file: B writes 10,000 bytes; A opens it read-only
 * (cached), maps it shared and reads it; B appends 5,000. Then A's pread
 * of the whole file starts (after that append returned); its GETATTR is
 * held; 50 ms into it a thread of A touches the mapping (a page fault: a
 * READ, and a data token with pages), and 50 ms later B appends 5,000 more,
 * which revokes that token: the revoke drops the page, which bumps the
 * inode's attr_version. A may read 15,000 or 20,000 bytes; 10,000 is the
 * file before the first append returned. Prints the lengths A read.
 */
const ROUNDS = `
import mmap, os, sys, threading, time
a, b, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = []
for r in range(rounds):
    name = 'f%d' % r
    with open(os.path.join(b, name), 'wb') as f: f.write(b'x' * 10000)
    fd = os.open(os.path.join(a, name), os.O_RDONLY)
    m = mmap.mmap(fd, 10000, mmap.MAP_SHARED, mmap.PROT_READ)
    os.pread(fd, 1 << 20, 0)
    with open(os.path.join(b, name), 'ab') as f: f.write(b'y' * 5000)
    def later():
        time.sleep(0.05)
        m[0:10]
        time.sleep(0.05)
        with open(os.path.join(b, name), 'ab') as f: f.write(b'z' * 5000)
    t = threading.Thread(target=later); t.start()
    seen.append(len(os.pread(fd, 1 << 20, 0)))
    t.join(); m.close(); os.close(fd)
print(' '.join(map(str, seen)))`;

async function lengthsSeen(plant: string, rounds: number): Promise<number[]> {
  const saved = process.env.COHERD_TEST_PLANT;
  process.env.COHERD_TEST_PLANT = plant;
  let cluster: AgentCluster;
  try {
    cluster = await AgentCluster.start({ agents: 2, agentArgs: ['--kernel-page-cache', 'yes'] });
  } finally {
    if (saved === undefined) delete process.env.COHERD_TEST_PLANT;
    else process.env.COHERD_TEST_PLANT = saved;
  }
  try {
    const out = await cluster.sh(`python3 -c ${q(ROUNDS)} ${q(cluster.mnt(0, ''))} ${q(cluster.mnt(1, ''))} ${rounds}`);
    return out.trim().split(' ').map(Number);
  } finally {
    await cluster.stop();
  }
}

describe('a cached read(2) whose GETATTR reply a drop made the kernel discard', () => {
  it('still reads the size another host\'s finished append gave the file (the size is stored before the reply), 5 rounds', { timeout: 120_000 }, async () => {
    const seen = await lengthsSeen('slow-getattr', 5);
    assert.equal(seen.length, 5);
    for (const n of seen) assert.ok(n === 15000 || n === 20000, `A read ${n} bytes after B's append to 15,000 returned: ${seen.join(', ')}`);
  });

  it('fails without that store: A then reads the file as it was before the append (the check above can fail)', { timeout: 120_000 }, async () => {
    const seen = await lengthsSeen('slow-getattr,no-size-store', 5);
    assert.ok(seen.includes(10000), `every round read a size after the append: ${seen.join(', ')}`);
  });
});
