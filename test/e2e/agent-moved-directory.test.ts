import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentCluster, waitForFile } from '../support/agent-cluster';

/**
 * A directory another host renamed, seen from a process whose working
 * directory is in it (two real agents over one backing directory; the
 * processes on the mounts are shells). POSIX: the working directory is the
 * directory, not its name; a file created relative to it lands in the
 * moved directory, and `stat .` is the moved directory's, even after
 * another directory took the old name. The agent finds the moved
 * directory by its file handle (docs/fuse.md "Nodes another host moved").
 */
let cluster: AgentCluster;
const A = 0;
const B = 1;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const on = (i: number, rel: string) => q(cluster.mnt(i, rel));

before(async () => {
  cluster = await AgentCluster.start({ agents: 2 });
});

after(async () => {
  await cluster?.stop();
});

/**
 * A shell on A that cds into `dir` (after looking at it, so A knows its node), signals it is there, waits for the
 * go file, then runs `then` in it; returns its result and the go function.
 */
async function waitingIn(dir: string, then: string) {
  const ready = cluster.tmp(`${dir}.ready`);
  const go = cluster.tmp(`${dir}.go`);
  const sh = cluster.spawnSh(`cd ${on(A, dir)} && ls -a . >/dev/null && touch ${q(ready)} && while [ ! -e ${q(go)} ]; do sleep 0.02; done && ${then}`);
  await waitForFile(ready);
  return { result: () => sh.result(20_000), go: () => cluster.sh(`touch ${q(go)}`) };
}

describe('a directory another host moved', () => {
  it('takes a file created relative to a working directory B renamed into the renamed directory, not the new one under the old name', { timeout: 60_000 }, async () => {
    await cluster.sh(`mkdir ${on(B, 'X')}`);
    const child = await waitingIn('X', 'echo made-on-A > f && echo done');
    await cluster.sh(`mv ${on(B, 'X')} ${on(B, 'Y')} && mkdir ${on(B, 'X')}`);
    await child.go();
    const r = await child.result();
    assert.equal(r.stdout.trim(), 'done', r.stderr);
    assert.equal(await cluster.sh(`cat ${on(B, 'Y/f')}`), 'made-on-A\n');
    assert.equal(await cluster.sh(`ls -A ${on(B, 'X')}`), '', 'nothing in the new directory under the old name');
    assert.equal(await cluster.sh(`ls -A ${on(A, 'X')}`), '', 'A sees the same');
  });

  it('makes directories relative to the moved working directory in it', { timeout: 60_000 }, async () => {
    await cluster.sh(`mkdir ${on(B, 'M')}`);
    const child = await waitingIn('M', 'mkdir sub && ln -s target link && echo done');
    await cluster.sh(`mv ${on(B, 'M')} ${on(B, 'N')} && mkdir ${on(B, 'M')}`);
    await child.go();
    assert.equal((await child.result()).stdout.trim(), 'done');
    assert.equal(await cluster.sh(`ls -A ${on(B, 'N')}`), 'link\nsub\n');
    assert.equal(await cluster.sh(`ls -A ${on(B, 'M')}`), '');
  });

  it('removes a name relative to the moved working directory from it, not from the new directory under the old name', { timeout: 60_000 }, async () => {
    await cluster.sh(`mkdir ${on(B, 'R')} && echo old > ${on(B, 'R/f')}`);
    const child = await waitingIn('R', 'rm f && echo done');
    await cluster.sh(`mv ${on(B, 'R')} ${on(B, 'R2')} && mkdir ${on(B, 'R')} && echo new > ${on(B, 'R/f')}`);
    await child.go();
    assert.equal((await child.result()).stdout.trim(), 'done');
    assert.equal(await cluster.sh(`ls -A ${on(B, 'R2')}`), '');
    assert.equal(await cluster.sh(`cat ${on(B, 'R/f')}`), 'new\n');
  });

  it('renames a name relative to the moved working directory in it, not in the new directory under the old name', { timeout: 60_000 }, async () => {
    await cluster.sh(`mkdir ${on(B, 'V')} && echo old > ${on(B, 'V/a')}`);
    const child = await waitingIn('V', 'mv a b && echo done');
    await cluster.sh(`mv ${on(B, 'V')} ${on(B, 'V2')} && mkdir ${on(B, 'V')} && echo new > ${on(B, 'V/a')}`);
    await child.go();
    assert.equal((await child.result()).stdout.trim(), 'done');
    assert.equal(await cluster.sh(`ls -A ${on(B, 'V2')}`), 'b\n');
    assert.equal(await cluster.sh(`cat ${on(B, 'V2/b')}`), 'old\n');
    assert.equal(await cluster.sh(`ls -A ${on(B, 'V')}`), 'a\n');
  });

  it('lists the moved working directory, not the new directory under the old name', { timeout: 60_000 }, async () => {
    await cluster.sh(`mkdir ${on(B, 'L')} && touch ${on(B, 'L/mine')}`);
    const child = await waitingIn('L', 'ls -A');
    await cluster.sh(`mv ${on(B, 'L')} ${on(B, 'L2')} && mkdir ${on(B, 'L')} && touch ${on(B, 'L/theirs')}`);
    await child.go();
    assert.equal((await child.result()).stdout, 'mine\n');
  });

  it('stats the working directory B moved as itself, not as the new directory under its old name', { timeout: 60_000 }, async () => {
    await cluster.sh(`mkdir ${on(B, 'S')} && chmod 700 ${on(B, 'S')}`);
    const child = await waitingIn('S', `stat -c '%i %a' .`);
    await cluster.sh(`mv ${on(B, 'S')} ${on(B, 'T')} && mkdir ${on(B, 'S')} && chmod 755 ${on(B, 'S')}`);
    await child.go();
    const r = await child.result();
    assert.equal(r.code, 0, r.stderr);
    const moved = (await cluster.sh(`stat -c '%i %a' ${on(B, 'T')}`)).trim();
    assert.equal(r.stdout.trim(), moved);
    assert.notEqual(moved, (await cluster.sh(`stat -c '%i %a' ${on(B, 'S')}`)).trim());
  });
});
