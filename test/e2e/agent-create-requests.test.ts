import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { vopCounts } from '../support/vop-counts';
import { AgentCluster } from '../support/agent-cluster';

/**
 * What a create + write + close costs the agent (docs/fuse.md, "Create and
 * write throughput"): the create holds the new file's tokens before it
 * replies, so the kernel keeps the new file's attributes and its permission
 * check after the create asks nothing. One real agent, real etcd and
 * coordinator; requests counted on the agent's /metrics.
 */
let cluster: AgentCluster;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** vops agent 0 ran so far, by op. */
function vops(): Promise<Record<string, number>> {
  return vopCounts(cluster.agents[0]);
}

const CREATE_FILES = `
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
data = b'a' * 4096
for i in range(n):
    fd = os.open(os.path.join(d, 'f%04d' % i), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    st = os.fstat(fd)
    assert st.st_size == 0 and st.st_mode & 0o777 == 0o644, st
    os.write(fd, data)
    os.close(fd)
print('ok')`;

before(async () => {
  cluster = await AgentCluster.start({ agents: 1, agentArgs: ['--metrics-listen', '127.0.0.1:0'] });
});

after(async () => {
  await cluster?.stop();
});

describe('create + write + close', () => {
  it('stats a new file only through the directory\'s permission check: the create\'s own attributes are kept', { timeout: 60_000 }, async (t) => {
    const dir = cluster.mnt(0, 'small');
    await cluster.sh(`mkdir ${q(dir)} && python3 -c ${q(CREATE_FILES)} ${q(dir)} 5`); // warm: dir token held
    const n = 50;
    const before = await vops();
    assert.equal((await cluster.sh(`python3 -c ${q(CREATE_FILES.replace("'f%04d'", "'g%04d'"))} ${q(dir)} ${n}`)).trim(), 'ok');
    const afterwards = await vops();
    const cost = (op: string) => (afterwards[op] ?? 0) - (before[op] ?? 0);
    t.diagnostic(`${n} create+fstat+write+close: ${JSON.stringify(Object.fromEntries(['getattr', 'create', 'write', 'flush', 'release'].map((op) => [op, cost(op)])))}`);
    assert.equal(cost('create'), n);
    assert.equal(cost('write'), n);
    // Per file the kernel checks the directory's permissions once (its attributes changed with the last create);
    // the new file's permission check and the fstat after the create are answered from what the create returned.
    assert.ok(cost('getattr') <= n + 5, `${cost('getattr')} getattr vops for ${n} files (2 per file when the create's attributes were not kept)`);
  });
});
