import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { AgentCluster, waitForFile } from '../support/agent-cluster';
import { eventually } from '../support/eventually';
import { runCli } from '../support/cluster';
import { ReplicaProcess } from '../support/replica-process';

/**
 * Live replication with real processes (DESIGN §11): three agents on FUSE
 * mounts over one backing directory, a real coordinator and etcd, and
 * `coherd replica` child processes following the agents' journals.
 */
let cluster: AgentCluster;
const replicas: ReplicaProcess[] = [];
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const journals = () => cluster.agents.map((a) => a.stateDir);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startReplica(name: string, extra: { sync?: boolean; mirror?: string } = {}): Promise<ReplicaProcess> {
  const r = await ReplicaProcess.start({
    namespace: 'e2e', journalRoots: journals(), mirrorDir: extra.mirror ?? cluster.tmp(`mirror-${name}`), backingDir: cluster.backingDir, name, sync: extra.sync,
  });
  replicas.push(r);
  return r;
}

/** verify passes (agents flush write-back within ~1 s, the replica follows within a few rounds). */
async function converged(r: ReplicaProcess): Promise<void> {
  await eventually(async () => {
    const v = await r.verify(cluster.backingDir);
    assert.equal(v.code, 0, `verify: ${v.stdout}${v.stderr}\nreplica log: ${r.log.slice(-2000)}`);
  }, 30_000, 500);
}

async function status(r: ReplicaProcess): Promise<{ agents: Array<{ lagRecords: number; stopped?: string; lastToken: unknown }>; rescans: number; live?: { lagP50Ms: number; lagP99Ms: number; samples: number } }> {
  const s = await r.status();
  assert.equal(s.code, 0, s.stderr);
  return JSON.parse(s.stdout);
}

/** No agent's stream was stopped at a bad record; if one was, the failure says which and why (and the replica's log). */
async function assertNoStreamStopped(r: ReplicaProcess): Promise<void> {
  const stopped = (await status(r)).agents.filter((a) => a.stopped);
  const why = r.log.split('\n').filter((l) => l.includes('"level":"error"')).slice(-5).join('\n');
  assert.deepEqual(stopped, [], `the replica stopped following: ${JSON.stringify(stopped)}\n${why}`);
}

/** Writes, appends, truncates, renames (across directories) and unlinks from agent `i`, racing the others on shared files. */
function workload(i: number, hosts: number, rounds: number): string {
  const m = q(cluster.mnt(i));
  return `set -e; cd ${m}
for k in $(seq 1 ${rounds}); do
  echo "agent ${i} line $k" >> shared/log
  python3 ${q(cluster.py)} write shared/blob $(( (k * 1000 + ${i} * 333) % 20000 )) 3000 ${i} > /dev/null
  echo "${i} $k" > d${i}/f$k
  if [ $((k % 3)) -eq 0 ]; then mv d${i}/f$k d$(( (${i} + 1) % ${hosts} ))/moved-${i}-$k; fi
  if [ $((k % 4)) -eq 0 ]; then rm -f d${i}/f$((k - 1)); fi
  # A truncate racing the other hosts' writes must succeed: it once failed with EINTR (a token conversion cancelled by a release).
  if [ $((k % 5)) -eq 0 ]; then truncate -s $((k * 37)) shared/trunc; echo "more ${i} $k" >> shared/trunc; fi
  if [ $((k % 7)) -eq 0 ]; then mkdir -p d${i}/sub && echo x > d${i}/sub/in && mv d${i}/sub d${i}/sub-$k; fi
done`;
}

async function prepareTree(hosts: number): Promise<void> {
  const dirs = [...Array(hosts).keys()].map((i) => q(cluster.mnt(0, `d${i}`))).join(' ');
  await cluster.sh(`mkdir -p ${q(cluster.mnt(0, 'shared'))} ${dirs} && : > ${q(cluster.mnt(0, 'shared', 'log'))} && : > ${q(cluster.mnt(0, 'shared', 'trunc'))}`);
}

async function runWorkloads(hosts: number[], rounds: number): Promise<void> {
  const all = hosts.map((i) => cluster.spawnSh(workload(i, hosts.length, rounds)));
  const results = await Promise.all(all.map((p) => p.result(120_000)));
  for (const r of results) assert.equal(r.code, 0, r.stderr);
}

async function clearTree(): Promise<void> {
  await cluster.sh(`rm -rf ${q(cluster.mnt(0))}/*`);
}

before(async () => {
  // Direct mode off: a replica cannot replay direct-mode writes in order (docs/replication.md).
  cluster = await AgentCluster.start({ agents: 3, ttlSeconds: 2, agentArgs: ['--journal-segment-mib', '0.25'], coordinatorArgs: ['--direct-mode-alone', '0'] });
});

beforeEach(async () => {
  for (let i = 0; i < 3; i++) if (!cluster.agents[i].alive) await cluster.restartAgent(i);
});

after(async () => {
  for (const r of replicas) await r.kill();
  await cluster?.stop();
});

describe('coherd replica following live agents', () => {
  it('two agents writing, appending, truncating, renaming and unlinking at once: the mirror matches at quiescence', { timeout: 180_000 }, async (t) => {
    const r = await startReplica('two');
    await prepareTree(2);
    await runWorkloads([0, 1], 40);
    await converged(r);
    const s = await status(r);
    assert.ok(s.agents.every((a) => a.lagRecords === 0 && !a.stopped), JSON.stringify(s));
    assert.ok(s.agents.some((a) => a.lastToken !== null));
    t.diagnostic(`async replication lag over ${s.live?.samples} records: p50 ${s.live?.lagP50Ms} ms, p99 ${s.live?.lagP99Ms} ms`);
    await r.stop();
    await clearTree();
  });

  it('three agents, and a replica killed mid-stream and restarted: it resumes from its cursor and catches up', { timeout: 180_000 }, async () => {
    const mirror = cluster.tmp('mirror-three');
    let r = await startReplica('three', { mirror });
    await prepareTree(3);
    const work = runWorkloads([0, 1, 2], 40);
    await sleep(1500);
    await r.kill();
    await sleep(500);
    r = await startReplica('three', { mirror });
    await work;
    await converged(r);
    await assertNoStreamStopped(r);
    await r.stop();
    await clearTree();
  });

  it('an agent killed with unflushed data: every fsync-acknowledged write is on the mirror', { timeout: 120_000 }, async () => {
    const r = await startReplica('crash');
    await cluster.sh(`head -c 300000 /dev/urandom > ${q(cluster.tmp('crash.ref'))}`);
    await cluster.sh(`dd if=${q(cluster.tmp('crash.ref'))} of=${q(cluster.mnt(0, 'synced'))} bs=64K conv=fsync status=none`);
    const ready = cluster.tmp('crash.ready');
    const holder = cluster.spawnSh(`python3 ${q(cluster.py)} hold-write ${q(cluster.mnt(0, 'unflushed'))} 0 200000 X ${q(ready)} ${q(cluster.tmp('crash.go'))}`);
    await waitForFile(ready, 30_000);
    await cluster.killAgent(0);
    holder.kill('SIGKILL');
    await cluster.restartAgent(0);
    const want = await fsp.readFile(cluster.tmp('crash.ref'));
    await eventually(async () => assert.ok(want.equals(await fsp.readFile(nodePath.join(r.options.mirrorDir, 'synced')))), 20_000, 200);
    // The mirror may also hold the killed host's journaled but never flushed writes: nothing else may differ.
    await eventually(async () => {
      const v = await r.verify(cluster.backingDir);
      const diffs = v.stdout.split('\n').filter((l) => l.includes('\t/'));
      assert.ok(diffs.every((l) => l.endsWith('/unflushed') || l.includes('/unflushed\t')), v.stdout);
    }, 20_000, 500);
    await assertNoStreamStopped(r);
    await r.stop();
    await clearTree();
  });

  it('a replica behind journals truncated past its cursor rescans the backing store and converges', { timeout: 180_000 }, async () => {
    const mirror = cluster.tmp('mirror-behind');
    let r = await startReplica('behind', { mirror });
    await cluster.sh(`echo before > ${q(cluster.mnt(1, 'before'))}`);
    await eventually(async () => assert.equal(await fsp.readFile(nodePath.join(mirror, 'before'), 'utf8'), 'before\n'), 20_000, 200);
    await r.stop();
    // Deregister every replica: the agents then keep only their two newest segments.
    for (const a of cluster.agents) await fsp.rm(nodePath.join(a.stateDir, 'journal-e2e', 'replicas'), { recursive: true, force: true });
    for (let i = 0; i < 3; i++) await cluster.sh(`head -c 400000 /dev/urandom > ${q(cluster.mnt(i, `bulk-${i}`))}`);
    await sleep(2500); // the agents' truncation runs every second
    r = await startReplica('behind', { mirror });
    await converged(r);
    assert.ok((await status(r)).rescans >= 1);
    await r.stop();
    await clearTree();
  });

  it('with --sync, data an fsync returned for is on the mirror even when the agent is killed at once; fsync cost measured', { timeout: 180_000 }, async (t) => {
    const fsyncLoop = async (name: string) => {
      const out = await cluster.sh(`python3 -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
lat = []
for k in range(200):
    os.pwrite(fd, os.urandom(4096), k * 4096)
    t0 = time.perf_counter(); os.fsync(fd); lat.append((time.perf_counter() - t0) * 1000)
lat.sort()
print("%.3f %.3f" % (lat[len(lat) // 2], lat[int(len(lat) * 0.99)]))
' ${q(cluster.mnt(1, name))}`, { timeoutMs: 120_000 });
      return out.trim().split(' ').map(Number);
    };
    // Baseline first: no replica registered at all.
    for (const a of cluster.agents) await fsp.rm(nodePath.join(a.stateDir, 'journal-e2e', 'replicas'), { recursive: true, force: true });
    const [noneP50, noneP99] = await fsyncLoop('fsync-none');
    const r = await startReplica('sync', { sync: true });
    await eventually(async () => assert.equal((await status(r)).agents.length, 3), 10_000, 100);
    const [syncP50, syncP99] = await fsyncLoop('fsync-sync');
    t.diagnostic(`fsync of 4 KiB: no replica p50 ${noneP50} ms p99 ${noneP99} ms; --sync replica p50 ${syncP50} ms p99 ${syncP99} ms`);
    await cluster.sh(`head -c 300000 /dev/urandom > ${q(cluster.tmp('sync.ref'))}`);
    await cluster.sh(`dd if=${q(cluster.tmp('sync.ref'))} of=${q(cluster.mnt(0, 'sync-then-kill'))} bs=64K conv=fsync status=none`);
    // The writer host and the replica die at once: only what the replica had durably when fsync returned is left.
    await Promise.all([cluster.killAgent(0), r.kill()]);
    const want = await fsp.readFile(cluster.tmp('sync.ref'));
    const got = await fsp.readFile(nodePath.join(r.options.mirrorDir, 'sync-then-kill')).catch(() => Buffer.alloc(0));
    assert.ok(want.equals(got), `mirror has ${got.length} of ${want.length} bytes`);
    const dereg = await runCli(['replica', 'deregister', '--namespace', 'e2e', '--journals', journals().join(','), '--name', 'sync']);
    assert.match(dereg.stdout, /deregistered from 3 journal/);
  });
});
