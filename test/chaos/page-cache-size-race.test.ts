import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentCluster } from '../support/agent-cluster';

/**
 * What the chaos register workload's held reader found (docs/chaos.md,
 * "Page-cache runs"), reproduced on two real agents: a read(2) through a
 * cached O_RDONLY open returns the file's old, shorter size after another
 * host's growing write returned, when this host writes the file at the
 * same moment. Both of A's requests (the reader's GETATTR, the WRITE) wait
 * for B's tokens and are answered together; a drop by the write before its
 * reply bumps the inode's attr_version under the GETATTR, the kernel
 * discards that reply and reads with its old i_size.
 */
const RACE = `
import os, sys, threading, random, mmap
a_dir, b_dir, rounds, shape = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
random.seed(3)
start = b'' if shape != 'paged' else b'x' * 64
grown = 64 if shape != 'paged' else 128
short = []
for r in range(rounds):
    a = os.path.join(a_dir, 'race%d' % r); b = os.path.join(b_dir, 'race%d' % r)
    with open(a, 'wb') as f: f.write(start)
    fd = os.open(a, os.O_RDONLY); os.pread(fd, 256, 0)          # A's kernel caches the size
    m = mmap.mmap(fd, 64, mmap.MAP_SHARED, mmap.PROT_READ) if start else None
    wa = os.open(a, os.O_WRONLY)
    w = os.open(b, os.O_WRONLY); os.pwrite(w, b'B' * grown, 0); os.close(w)   # B's write returns
    if m is not None: bytes(m[0:64])   # a page read after the revoke's drop (a fault: no GETATTR)
    bar = threading.Barrier(2); got = []
    skew = random.random() * 0.002
    def aw():
        bar.wait()
        if shape != 'alone': os.pwrite(wa, b'A' * 64, 0)
    def ar():
        bar.wait(); threading.Event().wait(skew); got.append(os.pread(fd, 256, 0))
    ts = [threading.Thread(target=aw), threading.Thread(target=ar)]
    for t in ts: t.start()
    for t in ts: t.join()
    if len(got[0]) != grown: short.append('round %d: %d bytes' % (r, len(got[0])))
    if m is not None: m.close()
    os.close(wa); os.close(fd)
print('%d' % len(short) + ('' if not short else ': ' + ', '.join(short[:5])))
`;

let cluster: AgentCluster;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
async function race(shape: 'alone' | 'empty' | 'paged'): Promise<string> {
  const [a, b] = [cluster.mnt(0, shape), cluster.mnt(1, shape)];
  return (await cluster.sh(`mkdir -p ${q(a)} && python3 -c ${q(RACE)} ${q(a)} ${q(b)} 100 ${shape}`, { timeoutMs: 170_000 })).trim();
}

before(async () => {
  cluster = await AgentCluster.start({ agents: 2, agentArgs: ['--kernel-page-cache', 'yes'] });
});

after(async () => {
  await cluster?.stop();
});

test('a re-read through a kept read-only handle after B\'s growing write returned sees B\'s size (A not writing), 100 rounds', { timeout: 180_000 }, async () => {
  assert.equal(await race('alone'), '0');
});

test('the same while A writes the empty file too: a write drops no page when the kernel holds none, 100 rounds', { timeout: 180_000 }, async () => {
  // Before the fix: 99 of 200 rounds read 0 bytes.
  assert.equal(await race('empty'), '0');
});

test('the same while A writes too, with a page of A\'s read after the revoke: the write stores the file\'s size before its drop, 100 rounds', { timeout: 180_000 }, async () => {
  // Before notify_store (kernel-page-cache.ts, storeTail): 87 of 100 rounds read 64 bytes.
  assert.equal(await race('paged'), '0');
});
