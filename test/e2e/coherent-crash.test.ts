import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import * as nodePath from 'node:path';
import { AgentCluster, waitForFile } from '../support/agent-cluster';

/**
 * Agent crashes and pauses with real processes (DESIGN §5, §8.4, §8.5).
 * Agents run with `--ttl 2`, so a dead agent's tokens are free within ~3 s.
 * A = agent 0 (the one that crashes or pauses), B = agent 1.
 */
let cluster: AgentCluster;
const A = 0;
const B = 1;
const TTL_S = 2;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const mnt = (i: number, name: string) => q(cluster.mnt(i, name));
const bak = (name: string) => q(cluster.bak(name));
const py = (args: string, timeoutMs = 30_000) => cluster.sh(`python3 ${q(cluster.py)} ${args}`, { timeoutMs }).then((out) => out.trim());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** "<size> <count of O> <count of X>" of a file, read in a separate process. */
const oxCounts = (path: string) =>
  cluster.sh(`python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); print(len(d), d.count(b"O"), d.count(b"X"))' ${path}`, { timeoutMs: 30_000 }).then((s) => s.trim());

before(async () => {
  cluster = await AgentCluster.start({ agents: 2, ttlSeconds: TTL_S });
});

beforeEach(async () => {
  // A test that failed half-way must not leave the next one without agent A.
  for (const i of [A, B]) if (!cluster.agents[i].alive) await cluster.restartAgent(i);
});

after(async () => {
  await cluster?.stop();
});

describe('agent crashes and pauses', () => {
  it('keeps an fsync\'ed write (dd conv=fsync) after kill -9 of the agent that wrote it', { timeout: 60_000 }, async () => {
    await cluster.sh(`head -c 300000 /dev/urandom > ${q(cluster.tmp('synced.ref'))}`);
    const want = await py(`sha ${q(cluster.tmp('synced.ref'))}`);
    await cluster.sh(`dd if=${q(cluster.tmp('synced.ref'))} of=${mnt(A, 'synced')} bs=64K conv=fsync status=none`);
    await cluster.killAgent(A, 'SIGKILL');
    assert.equal(await py(`sha ${bak('synced')}`), want, 'backing file right after the kill');
    assert.equal(await py(`sha ${mnt(B, 'synced')}`), want, 'read through B');
    await cluster.restartAgent(A);
    assert.equal(await py(`sha ${mnt(A, 'synced')}`), want, 'read through the restarted A');
  });

  it('never shows half of an unflushed 256 KiB write on the other mount when its agent is killed (5 rounds)', { timeout: 120_000 }, async (t) => {
    const SIZE = 256 * 1024;
    // Rounds differ in when A dies: right after the write returned (data still dirty), during the
    // write, and after the write-back timer (~1 s) may have flushed it.
    const killDelaysMs = [0, 0, -1, 300, 1500];
    for (const [round, delayMs] of killDelaysMs.entries()) {
      const name = `torn-${round}`;
      await cluster.sh(`head -c ${SIZE} /dev/zero | tr '\\0' O | dd of=${mnt(A, name)} bs=64K iflag=fullblock conv=fsync status=none`);
      const ready = cluster.tmp(`${name}.ready`);
      const go = cluster.tmp(`${name}.go`);
      const writer = cluster.spawnSh(`python3 ${q(cluster.py)} hold-write ${mnt(A, name)} 0 ${SIZE} X ${q(ready)} ${q(go)}`);
      if (delayMs < 0) await waitForFile(`${ready}.opened`, 10_000, 1); // kill while the 256 KiB pwrite may still be arriving
      else {
        await waitForFile(ready);
        await sleep(delayMs);
      }
      await cluster.killAgent(A, 'SIGKILL');
      await cluster.sh(`touch ${q(go)}`);
      await writer.result(30_000);
      for (const [where, path] of [['B', mnt(B, name)], ['backing', bak(name)]]) {
        const counts = await oxCounts(path);
        assert.ok([`${SIZE} ${SIZE} 0`, `${SIZE} 0 ${SIZE}`].includes(counts), `round ${round} (kill after ${delayMs} ms), ${where}: size/O/X = ${counts}`);
        if (where === 'B') t.diagnostic(`round ${round} (kill ${delayMs < 0 ? 'during the write' : `${delayMs} ms after it`}): B sees ${counts.endsWith(' 0') ? 'all O' : 'all X'}`);
      }
      await cluster.restartAgent(A);
    }
  });

  it('leaves no stuck mount when an agent is killed: it restarts on the same mount point and works', { timeout: 60_000 }, async () => {
    let expected = 'before the crash';
    await cluster.sh(`printf '${expected}' > ${mnt(A, 'survivor')}`);
    for (let k = 0; k < 2; k++) {
      await cluster.killAgent(A, 'SIGKILL');
      // A name never looked up: the kernel must ask the (dead) agent. The root's own attributes may be
      // cached for up to 1 s under a dir token and would answer without it (docs/fuse.md).
      const dead = await cluster.run(`stat ${q(nodePath.join(cluster.agents[A].mountPoint, `never-looked-up-${k}`))}`, { timeoutMs: 10_000 });
      assert.match(dead.stderr, /Transport endpoint is not connected|Software caused connection abort/, 'the dead mount answers at once');
      await cluster.restartAgent(A);
      const mounts = (await cluster.sh('cat /proc/mounts')).split('\n').filter((l) => l.split(' ')[1] === cluster.agents[A].mountPoint);
      assert.equal(mounts.length, 1, `exactly one mount at A's mount point: ${mounts.join(' | ')}`);
      assert.equal(await cluster.sh(`cat ${mnt(A, 'survivor')}`), expected, `read through the restarted A (crash ${k})`);
      await cluster.sh(`printf ' after crash ${k}' >> ${mnt(A, 'survivor')}`);
      expected += ` after crash ${k}`;
    }
    assert.equal(await cluster.sh(`cat ${mnt(B, 'survivor')}`), expected);
    await cluster.sh(`mkdir ${mnt(A, 'after-crash')} && printf ok > ${mnt(A, 'after-crash/f')}`);
    assert.equal(await cluster.sh(`cat ${mnt(B, 'after-crash/f')}`), 'ok');
  });

  it('writes nothing from a paused agent after its deadline, and it comes back with a new session', { timeout: 90_000 }, async (t) => {
    const LEN = 65536;
    const agentA = cluster.agents[A];
    const oldSession = agentA.sessionId;
    assert.ok(oldSession, 'A reported its session');
    assert.ok((await cluster.liveSessions()).includes(oldSession), 'A\'s session is live before the pause');

    assert.equal(await py(`write ${mnt(A, 'paused')} 0 ${LEN} 1`), 'ok');
    const ready = cluster.tmp('paused.ready');
    const go = cluster.tmp('paused.go');
    // A holds dirty data (no fsync, descriptor kept open) when it is stopped.
    const writer = cluster.spawnSh(`python3 ${q(cluster.py)} hold-write ${mnt(A, 'paused')} 0 ${LEN} 2 ${q(ready)} ${q(go)}`);
    await waitForFile(ready);
    await cluster.killAgent(A, 'SIGSTOP');
    try {
      assert.equal(await py(`verify ${bak('paused')} 0 ${LEN} 1`), 'ok', 'A\'s new data is still dirty in A when it stops');
      // B writes the same range: granted once A's session is gone (TTL + 1 s), not before.
      const started = Date.now();
      assert.equal(await py(`write ${mnt(B, 'paused')} 0 ${LEN} 3`, 20_000), 'ok');
      const waitedMs = Date.now() - started;
      t.diagnostic(`B's write waited ${waitedMs} ms for the paused agent's tokens (TTL ${TTL_S} s)`);
      assert.ok(waitedMs <= (TTL_S + 1) * 1000 + 2000, `B waited ${waitedMs} ms for the paused agent's tokens`);
      assert.equal(await py(`verify ${bak('paused')} 0 ${LEN} 3`), 'ok', 'B\'s write is on the backing store');
      assert.ok(!(await cluster.liveSessions()).includes(oldSession), 'A\'s session expired while it was stopped');
    } finally {
      await cluster.killAgent(A, 'SIGCONT');
    }
    // A wakes up past its deadline with dirty pages: it must drop them, not write them.
    await sleep(3000);
    assert.equal(await py(`verify ${bak('paused')} 0 ${LEN} 3`), 'ok', 'backing store still holds B\'s data after A resumed');
    assert.equal(await py(`verify ${mnt(B, 'paused')} 0 ${LEN} 3`), 'ok', 'B still reads its own data');
    assert.ok(agentA.alive, 'A survived the pause');

    const newSession = await agentA.waitForNewSession(oldSession, 15_000);
    const live = await cluster.liveSessions();
    assert.ok(live.includes(newSession), `coherd sessions lists A's new session ${newSession}: ${live.join(', ')}`);
    assert.ok(!live.includes(oldSession), 'and not the old one');

    // The writer that lost its dirty data is told so when it closes (DESIGN §5: never dropped silently).
    await cluster.sh(`touch ${q(go)}`);
    const lost = await writer.result(30_000);
    assert.equal(lost.stdout.trim(), 'EIO', `close of the descriptor whose dirty data was dropped: ${lost.stdout}${lost.stderr}`);

    // A later write through A works and is seen by B and on the backing store.
    assert.equal(await py(`write ${mnt(A, 'paused')} 0 ${LEN} 4`), 'ok');
    assert.equal(await py(`verify ${mnt(B, 'paused')} 0 ${LEN} 4`), 'ok');
    assert.equal(await py(`write ${mnt(A, 'after-pause')} 0 1000 5`), 'ok');
    assert.equal(await py(`verify ${mnt(B, 'after-pause')} 0 1000 5`), 'ok');
  });

  it('writes nothing from a paused agent after another host was given its range, even when it is evicted before its TTL ran out', {
    timeout: 90_000,
  }, async (t) => {
    // Default TTL (10 s) > revoke deadline (5 s): the coordinator evicts the silent agent before its lease runs out.
    const slow = await AgentCluster.start({ agents: 2 });
    try {
      const run = (args: string, timeoutMs = 30_000) => slow.sh(`python3 ${q(slow.py)} ${args}`, { timeoutMs }).then((out) => out.trim());
      const LEN = 65536;
      assert.equal(await run(`write ${q(slow.mnt(A, 'evicted'))} 0 ${LEN} 1`), 'ok');
      const ready = slow.tmp('evicted.ready');
      const go = slow.tmp('evicted.go');
      const writer = slow.spawnSh(`python3 ${q(slow.py)} hold-write ${q(slow.mnt(A, 'evicted'))} 0 ${LEN} 2 ${q(ready)} ${q(go)}`);
      await waitForFile(ready);
      const stoppedAt = Date.now();
      await slow.killAgent(A, 'SIGSTOP');
      try {
        assert.equal(await run(`write ${q(slow.mnt(B, 'evicted'))} 0 ${LEN} 3`, 30_000), 'ok');
        t.diagnostic(`B's write completed ${Date.now() - stoppedAt} ms after A was stopped`);
        assert.equal(await run(`verify ${q(slow.bak('evicted'))} 0 ${LEN} 3`), 'ok');
      } finally {
        await slow.killAgent(A, 'SIGCONT');
      }
      await sleep(3000);
      assert.equal(await run(`verify ${q(slow.bak('evicted'))} 0 ${LEN} 3`), 'ok', 'the backing store still holds B\'s data after A resumed');
      await slow.sh(`touch ${q(go)}`);
      await writer.result(30_000);
    } finally {
      await slow.stop();
    }
  });
});
