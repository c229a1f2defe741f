import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { after, before, it } from 'node:test';
import { AgentCluster } from '../support/agent-cluster';
import { runCli } from '../support/cluster';
import { eventually } from '../support/eventually';
import { parsePromText, Sample, total } from '../support/prom-text';
import { ReplicaProcess } from '../support/replica-process';

/**
 * `coherd replica --coordinator` with real processes: a real etcd and
 * coordinator, agents on FUSE mounts, and a replica given no journal
 * directory at all. It must find the agents through the sessions they
 * open, pick up an agent that starts while it runs, keep following an
 * agent that died (its session gone) from where its journal is, and expose
 * the same lag, cursor and token as `coherd replica status` on /metrics.
 */
let cluster: AgentCluster;
const replicas: ReplicaProcess[] = [];
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

before(async () => {
  // Direct mode off: a replica cannot replay direct-mode writes in order (docs/replication.md).
  cluster = await AgentCluster.start({ agents: 2, ttlSeconds: 2, coordinatorArgs: ['--direct-mode-alone', '0'] });
});

after(async () => {
  for (const r of replicas) await r.stop().catch(() => undefined);
  await cluster?.stop();
});

async function startReplica(): Promise<ReplicaProcess> {
  const r = await ReplicaProcess.start({
    namespace: 'e2e', coordinator: cluster.coordinatorAddress, mirrorDir: cluster.tmp('mirror'), name: 'disc', metricsListen: '127.0.0.1:0',
  });
  replicas.push(r);
  return r;
}

async function scrape(r: ReplicaProcess): Promise<Sample[]> {
  const res = await fetch(`http://${r.metricsAddress}/metrics`);
  assert.equal(res.status, 200);
  return parsePromText(await res.text());
}

const agentLabels = (s: Sample[]) => new Set(s.filter((x) => x.name === 'coherd_replica_cursor_sequence').map((x) => x.labels.agent));
const journalId = async (i: number) => JSON.parse(await fsp.readFile(nodePath.join(cluster.agents[i].stateDir, 'journal-e2e', 'journal-meta.json'), 'utf8')).agentId as string;

async function mirrorHas(r: ReplicaProcess, name: string, content: string): Promise<void> {
  await eventually(async () => {
    const got = await fsp.readFile(nodePath.join(cluster.tmp('mirror'), name), 'utf8').catch((e) => `<${(e as Error).message}>`);
    assert.equal(got, content, `replica log: ${r.log.slice(-2000)}`);
  }, 20_000, 100);
}

it('finds agents through the coordinator, picks up a new one, follows a dead one from its journal, and its metrics match status', { timeout: 150_000 }, async () => {
  // Agent 1 starts later, with a fresh journal: it is a new agent to the replica.
  await cluster.killAgent(1, 'SIGTERM');
  await fsp.rm(nodePath.join(cluster.agents[1].stateDir, 'journal-e2e'), { recursive: true, force: true });
  const sessions = JSON.parse((await cluster.cli(['sessions', '--json'])).stdout).sessions as Array<{ clientName: string }>;
  assert.ok(sessions.some((s) => s.clientName.endsWith(`;journal=${nodePath.join(cluster.agents[0].stateDir, 'journal-e2e')}`)), JSON.stringify(sessions));

  let r = await startReplica();
  await cluster.sh(`echo from-agent-0 > ${q(cluster.mnt(0, 'zero'))}`);
  await mirrorHas(r, 'zero', 'from-agent-0\n');
  assert.deepEqual([...agentLabels(await scrape(r))], [await journalId(0)]);
  const ready = await fetch(`http://${r.metricsAddress}/readyz`);
  assert.equal(ready.status, 200, await ready.text());

  // A new agent, while the replica runs.
  await cluster.restartAgent(1);
  await cluster.sh(`echo from-agent-1 > ${q(cluster.mnt(1, 'one'))}`);
  await mirrorHas(r, 'one', 'from-agent-1\n');
  const deadId = await journalId(1);
  assert.deepEqual([...agentLabels(await scrape(r))].sort(), [await journalId(0), deadId].sort());

  // The replica is down while agent 1 writes (fsync'ed) and dies; its session expires.
  await r.stop();
  await cluster.sh(`printf 'written before dying' | dd of=${q(cluster.mnt(1, 'last-words'))} conv=fsync status=none`);
  await cluster.killAgent(1, 'SIGKILL');
  await eventually(async () => assert.equal((await cluster.liveSessions()).length, 1), 20_000, 200);

  r = await startReplica();
  await mirrorHas(r, 'last-words', 'written before dying');
  await cluster.sh(`echo still-going > ${q(cluster.mnt(0, 'zero-2'))}`);
  await mirrorHas(r, 'zero-2', 'still-going\n');

  // Metrics and status agree, and both agents are caught up.
  await eventually(async () => {
    const st = JSON.parse((await r.status()).stdout) as { agents: Array<{ agentId: string; cursor: number; lagRecords: number; lastToken: { epoch: number; counter: number } | null }> };
    const s = await scrape(r);
    assert.equal(st.agents.length, 2);
    for (const a of st.agents) {
      const agent = { agent: a.agentId };
      assert.equal(a.lagRecords, 0);
      assert.equal(total(s, 'coherd_replica_lag_records', agent), 0);
      assert.equal(total(s, 'coherd_replica_lag_seconds', agent), 0);
      assert.equal(total(s, 'coherd_replica_cursor_sequence', agent), a.cursor);
      assert.ok(a.cursor > 0);
      assert.equal(total(s, 'coherd_replica_last_token_counter', agent), a.lastToken?.counter);
      assert.equal(total(s, 'coherd_replica_last_token_epoch', agent), a.lastToken?.epoch);
    }
    assert.equal(total(s, 'coherd_replica_coordinator_up'), 1);
  }, 20_000, 200);
  const health = await fetch(`http://${r.metricsAddress}/healthz`);
  assert.equal(health.status, 200, await health.text());
});

it('refuses to start with neither --coordinator nor --journals, and names both', async () => {
  const res = await runCli(['replica', '--namespace', 'e2e', '--mirror', cluster.tmp('m2')]);
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /--coordinator, --journals or both/);
});
