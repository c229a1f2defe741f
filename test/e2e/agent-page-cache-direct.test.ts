import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentCluster } from '../support/agent-cluster';

/**
 * A shared mapping made through a page-cache open while the file turns
 * contended (direct mode: docs/direct-mode.md). Page faults send no
 * GETATTR, so the kernel's pages behind a mapping are dropped only by the
 * agent: a host whose kernel caches the file asks for its tokens noDirect,
 * and the other host's DIRECT writes revoke them (chaos register-mmap found
 * 224-241 stale mapping reads per 30 s run before).
 */
const MAPPED = `
import os, sys, mmap
a_dir, b_dir, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
a = os.path.join(a_dir, 'mapped'); b = os.path.join(b_dir, 'mapped')
with open(a, 'wb') as f: f.write(b'0' * 16)
fd = os.open(a, os.O_RDONLY)
m = mmap.mmap(fd, 16, mmap.MAP_SHARED, mmap.PROT_READ)
wa = os.open(a, os.O_WRONLY); wb = os.open(b, os.O_WRONLY)
stale = []
for r in range(rounds):
    os.pwrite(wa, b'A%015d' % r, 0)            # A and B take turns: the file ping-pongs into direct mode
    for v in (b'B%015d' % (2 * r), b'C%015d' % (2 * r + 1)):
        os.pwrite(wb, v, 0)                    # B's write returned ...
        got = bytes(m[0:16])                   # ... so A's mapping shows it
        if got != v: stale.append('round %d: %s for %s' % (r, got.decode(), v.decode()))
m.close(); os.close(fd); os.close(wa); os.close(wb)
print('%d' % len(stale) + ('' if not stale else ': ' + ', '.join(stale[:4])))
`;

let cluster: AgentCluster;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

before(async () => {
  cluster = await AgentCluster.start({ agents: 2, agentArgs: ['--kernel-page-cache', 'yes'] });
});

after(async () => {
  await cluster?.stop();
});

test('a shared mapping of A sees each write of B as it returns while A and B write the file in turn (direct mode for B, caching tokens for A), 40 rounds', { timeout: 120_000 }, async () => {
  const [a, b] = [cluster.mnt(0, 'direct'), cluster.mnt(1, 'direct')];
  const out = await cluster.sh(`mkdir -p ${q(a)} && python3 -c ${q(MAPPED)} ${q(a)} ${q(b)} 40`, { timeoutMs: 110_000 });
  assert.equal(out.trim(), '0');
});
