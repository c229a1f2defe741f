import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { promises as fsp } from 'node:fs';
import { AgentCluster, waitForFile } from '../support/agent-cluster';

/**
 * Two hosts create the same new names at the same moment (two real agents
 * over one backing directory). Both kernels looked the name up and saw
 * nothing, so both send a FUSE create: open(O_CREAT) without O_EXCL must
 * succeed on both (one creates, the other opens what the first made), and
 * with O_EXCL exactly one of them may win each name.
 */
let cluster: AgentCluster;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const NAMES = 150;

/** For each name i: wait at a per-round barrier, open with FLAGS, write TAG, close. Prints "<ok names> | <errno names>". */
const RACER = String.raw`
import os, sys, time, errno
d, tag, flags, n, ready, go = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
f = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if flags == 'excl' else 0) | (os.O_TRUNC if flags == 'trunc' else 0)
open(ready, 'w').close()
while not os.path.exists(go): time.sleep(0.002)
ok, errs = [], []
for i in range(n):
    try:
        fd = os.open('%s/f%d' % (d, i), f, 0o644)
        os.write(fd, tag.encode())
        os.close(fd)
        ok.append(str(i))
    except OSError as e:
        errs.append('%d:%s' % (i, errno.errorcode.get(e.errno, str(e.errno))))
print(' '.join(ok) + ' | ' + ' '.join(errs))
`;

async function race(dir: string, flags: 'plain' | 'excl' | 'trunc'): Promise<Array<{ ok: Set<number>; errors: string[] }>> {
  await cluster.sh(`mkdir ${q(cluster.mnt(0, dir))}`);
  await fsp.writeFile(cluster.tmp('racer.py'), RACER);
  const go = cluster.tmp(`${dir}.go`);
  const racers = [0, 1].map((i) => cluster.spawnSh(`python3 ${q(cluster.tmp('racer.py'))} ${q(cluster.mnt(i, dir))} ${'AB'[i]} ${flags} ${NAMES} ${q(cluster.tmp(`${dir}.ready${i}`))} ${q(go)}`));
  await waitForFile(cluster.tmp(`${dir}.ready0`));
  await waitForFile(cluster.tmp(`${dir}.ready1`));
  await fsp.writeFile(go, '');
  const results = await Promise.all(racers.map((r) => r.result(120_000)));
  return results.map((r) => {
    assert.equal(r.code, 0, r.stderr);
    const [ok, errs] = r.stdout.trim().split('|').map((x) => x.trim());
    return { ok: new Set(ok ? ok.split(' ').map(Number) : []), errors: errs ? errs.split(' ') : [] };
  });
}

before(async () => {
  cluster = await AgentCluster.start({ agents: 2 });
});

after(async () => {
  await cluster?.stop();
});

describe('two hosts creating one new name at once', () => {
  it('open(O_CREAT) succeeds on both hosts for every name; each file holds what the hosts wrote', { timeout: 180_000 }, async () => {
    const [a, b] = await race('plain', 'plain');
    assert.deepEqual([a.errors, b.errors], [[], []], 'no host saw an error for O_CREAT without O_EXCL');
    assert.equal(a.ok.size + b.ok.size, 2 * NAMES);
    for (let i = 0; i < NAMES; i++) {
      const data = await fsp.readFile(cluster.bak('plain', `f${i}`), 'utf8');
      assert.ok(data === 'A' || data === 'B', `f${i} holds ${JSON.stringify(data)}`); // both wrote one byte at offset 0
    }
  });

  it('open(O_CREAT|O_TRUNC) succeeds on both hosts for every name', { timeout: 180_000 }, async () => {
    const [a, b] = await race('trunc', 'trunc');
    assert.deepEqual([a.errors, b.errors], [[], []]);
  });

  it('open(O_CREAT|O_EXCL) gives each name to exactly one host; the other gets EEXIST', { timeout: 180_000 }, async () => {
    const [a, b] = await race('excl', 'excl');
    for (let i = 0; i < NAMES; i++) assert.equal(Number(a.ok.has(i)) + Number(b.ok.has(i)), 1, `f${i}: won by ${a.ok.has(i) ? 'A' : ''}${b.ok.has(i) ? 'B' : ''}`);
    const errs = [...a.errors, ...b.errors];
    assert.equal(errs.length, NAMES);
    assert.ok(errs.every((e) => e.endsWith(':EEXIST')), errs.join(' '));
  });
});
