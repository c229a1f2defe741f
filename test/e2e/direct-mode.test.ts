import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentCluster } from '../support/agent-cluster';

/**
 * Direct mode on real mounts (issue 14, docs/direct-mode.md): a log
 * written on one host and followed on another, and strict alternation,
 * across two agents over one backing directory. Every record arrives, in
 * order, complete, with no error and no eviction; the file goes direct
 * while both use it and is cached again once one host is alone.
 */
const FOLLOW = path.resolve(__dirname, '../../../bench/workloads/log-follower.py');
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const EVICTION = /holder did not answer a revoke|evict|revoke ack refused|revoke answer refused|session fenced/i;

let cluster: AgentCluster;

before(async () => {
  cluster = await AgentCluster.start({ agents: 2 });
});

after(async () => {
  await cluster?.stop();
});

async function logs(): Promise<string> {
  const agentLogs = await Promise.all(cluster.agents.map((a) => readFile(a.logFile, 'utf8').catch(() => '')));
  return [cluster.coordinatorLog(), ...agentLogs].join('\n');
}

type Dump = { locks?: Array<{ resource: string; space: string; mode: string; sessionId: string }>; direct?: Array<{ resource: string; reason: string }> };

async function locks(): Promise<Dump> {
  const r = await cluster.cli(['locks', '--coordinator', cluster.coordinatorAddress, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Dump;
}

async function inoOf(file: string): Promise<string> {
  return (await cluster.sh(`stat -c %i ${q(cluster.bak(file))}`)).trim();
}

describe('a file written on one host and read on another', () => {
  it('a follower on another host sees every record of an O_APPEND + fsync writer, in order and complete, while the file is direct', { timeout: 300_000 }, async (t) => {
    const before = (await logs()).length;
    const file = 'follow.log';
    await cluster.sh(`touch ${q(cluster.mnt(0, file))}`);
    const go = cluster.tmp('follow.go');
    const writer = cluster.spawnSh(`python3 ${q(FOLLOW)} writer ${q(cluster.mnt(0, file))} 3000 28 ${q(go)}`);
    const follower = cluster.spawnSh(`python3 ${q(FOLLOW)} follower ${q(cluster.mnt(1, file))} 3000 28 ${q(go)}`);
    await cluster.sh(`touch ${q(go)}`);
    const resource = `e2e/${await inoOf(file)}`;
    // While they run, `coherd locks` shows the file in direct mode, and why.
    let running = true;
    const seen: string[] = [];
    const watch = (async () => {
      while (running) {
        const d = (await locks()).direct?.find((x) => x.resource === resource);
        if (d) seen.push(d.reason);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const [w, f] = await Promise.all([writer.result(240_000), follower.result(240_000)]).finally(() => { running = false; });
    await watch;
    assert.equal(w.code, 0, `writer: ${w.stderr}`);
    assert.equal(f.code, 0, `follower: ${f.stderr}`);
    assert.ok(seen.length > 0, 'the file was seen in direct mode while both hosts used it');
    assert.match(seen[0], /ping-pong/);
    const size = Number((await cluster.sh(`stat -c %s ${q(cluster.bak(file))}`)).trim());
    assert.equal(size, 3000 * 28, 'every record is in the backing file');
    assert.doesNotMatch((await logs()).slice(before), EVICTION, 'no eviction or refused revoke answer');
    // The writer's journal marks its direct writes: a replica must not replay them as if ordered (docs/replication.md).
    const journal = path.join(cluster.agents[0].stateDir, 'journal-e2e');
    const marked = Number((await cluster.sh(`cat ${q(journal)}/seg-*.jnl | grep -a -c '"op":"write".*"direct":true' || true`)).trim());
    assert.ok(marked > 0, 'direct writes are marked in the journal');
    const wr = JSON.parse(w.stdout) as { per_second: number };
    const fr = JSON.parse(f.stdout) as { lag_p50_ms: number; lag_p99_ms: number; polls: number };
    t.diagnostic(`writer ${wr.per_second.toFixed(0)} records/s; follower lag p50 ${fr.lag_p50_ms.toFixed(1)} ms, p99 ${fr.lag_p99_ms.toFixed(1)} ms over ${fr.polls} polls`);
  });

  it('strict alternation (write + fsync on one host, read on the other) sees every record, in order and complete', { timeout: 300_000 }, async (t) => {
    const file = 'alternate.log';
    await cluster.sh(`touch ${q(cluster.mnt(0, file))}`);
    const dir = cluster.tmp('alternate');
    await cluster.sh(`mkdir -p ${q(dir)}`);
    const reader = cluster.spawnSh(`python3 ${q(FOLLOW)} alternate-read ${q(cluster.mnt(1, file))} 1000 512 ${q(dir)}`);
    const writer = cluster.spawnSh(`python3 ${q(FOLLOW)} alternate-write ${q(cluster.mnt(0, file))} 1000 512 ${q(dir)}`);
    const [w, r] = await Promise.all([writer.result(240_000), reader.result(240_000)]);
    assert.equal(w.code, 0, `writer: ${w.stderr}`);
    assert.equal(r.code, 0, `reader: ${r.stderr}`);
    const wr = JSON.parse(w.stdout) as { per_second: number };
    t.diagnostic(`strict alternation: ${wr.per_second.toFixed(0)} rounds/s`);
  });

  it('a file that leaves contention is cached again: the lone host holds caching tokens and no longer DIRECT', { timeout: 120_000 }, async () => {
    const file = 'follow.log';
    const resource = `e2e/${await inoOf(file)}`;
    // Host 0 alone re-reads the file for a while: its DIRECT tokens are renewed every second, and
    // once no other host asked for 2 s the coordinator grants it caching tokens again.
    for (let i = 0; i < 10; i++) {
      await cluster.sh(`cat ${q(cluster.mnt(0, file))} > /dev/null; sleep 0.5`);
    }
    const dump = await locks();
    assert.equal(dump.direct?.find((d) => d.resource === resource), undefined, `no longer direct: ${JSON.stringify(dump.direct)}`);
    const mine = (dump.locks ?? []).filter((l) => l.resource === resource && l.space === 'DATA' && l.sessionId === cluster.agents[0].sessionId);
    assert.ok(mine.length > 0, `host 0 (${cluster.agents[0].sessionId}) holds a data token: ${JSON.stringify(dump.locks)}`);
    assert.ok(mine.every((l) => l.mode === 'READ' || l.mode === 'WRITE'), `caching tokens only: ${JSON.stringify(mine)}`);
    const out = await cluster.sh(`python3 -c ${q(`import sys; d=open(sys.argv[1],'rb').read(); assert len(d)==3000*28 and d.count(b'\\n')==3000; print('ok')`)} ${q(cluster.mnt(0, file))}`);
    assert.equal(out.trim(), 'ok', 'and reads through the cache return the whole file');
  });
});
