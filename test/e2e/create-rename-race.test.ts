import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { AgentCluster } from '../support/agent-cluster';

/**
 * An O_EXCL create on A racing B's rename of the very file A creates:
 * A's open must succeed (it created the file), whatever B does next. The
 * kernel checks the new file's permission with a GETATTR right after the
 * CREATE; answered from the file's path, it found nothing once B had
 * renamed it, and open(2) returned ENOENT for a file it had created
 * (found by chaos's namespace check, seed 11).
 */
let cluster: AgentCluster;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

const RACE = [
  "import os, sys, json, threading, time",
  "a, b = sys.argv[1], sys.argv[2]",
  "res = []",
  "def attempt(i, race):",
  "    A = lambda n: os.path.join(a, n + str(i)); B = lambda n: os.path.join(b, n + str(i))",
  "    with open(B('x'), 'w') as f: f.write('first')",
  "    os.stat(A('x')); open(A('x')).read()",
  "    os.rename(A('x'), A('y'))",
  "    r = {'i': i, 'race': race}",
  "    def ren():",
  "        for _ in range(2000):",
  "            try: os.rename(B('x'), B('y')); r['ren'] = 'ok'; return",
  "            except FileNotFoundError: pass",
  "        r['ren'] = 'never'",
  "    t = threading.Thread(target=ren) if race else None",
  "    if t: t.start()",
  "    try:",
  "        fd = os.open(A('x'), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644); r['open'] = 'ok'",
  "    except OSError as e:",
  "        r['open'] = e.strerror; ",
  "        if t: t.join()",
  "        res.append(r); return",
  "    if not t: os.rename(B('x'), B('y')); r['ren'] = 'ok'",
  "    try: os.write(fd, b'second'); r['write'] = 'ok'",
  "    except OSError as e: r['write'] = e.strerror",
  "    try: os.close(fd); r['close'] = 'ok'",
  "    except OSError as e: r['close'] = e.strerror",
  "    if t: t.join()",
  "    time.sleep(0.05)",
  "    try: r['y_on_b'] = open(B('y')).read()",
  "    except OSError as e: r['y_on_b'] = e.strerror",
  "    try: r['y_on_a'] = open(A('y')).read()",
  "    except OSError as e: r['y_on_a'] = e.strerror",
  "    res.append(r)",
  "base = int(sys.argv[3])",
  "for i in range(base, base + 6): attempt(i, False)",
  "for i in range(base + 6, base + 24): attempt(i, True)",
  "for r in res: print(json.dumps(r))",
].join('\n');

before(async () => {
  cluster = await AgentCluster.start({ agents: 2 });
});

after(async () => {
  await cluster?.stop();
});

it('an O_EXCL create on one mount succeeds while the other mount renames the file it creates, 36 races', { timeout: 120_000 }, async () => {
  for (const base of [0, 100]) {
    const out = await cluster.sh(`python3 -c ${q(RACE)} ${q(cluster.mnt(0, ''))} ${q(cluster.mnt(1, ''))} ${base}`);
    const rounds = out.trim().split('\n').map((l) => JSON.parse(l) as { i: number; open: string });
    assert.equal(rounds.length, 24);
    assert.deepEqual(rounds.filter((r) => r.open !== 'ok'), [], 'rounds whose O_EXCL create failed');
  }
});
