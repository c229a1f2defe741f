import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { AgentCluster } from '../support/agent-cluster';
import { runCli } from '../support/cluster';
import { eventually } from '../support/eventually';
import { TestPki, CertFiles } from '../support/pki';
import { getText, has, parsePromText, Sample, total, unboundedLabels } from '../support/prom-text';
import { spawnLoggedCoordinator, tlsArgs } from '../support/secure-cluster';
import { freePort } from '../../src/common/free-port';

// A two-agent cluster over mutual TLS (agents, coordinator and CLI all with
// certificates of one test CA), with --metrics-listen on everything.
let pki: TestPki;
let cluster: AgentCluster;
let coordinatorMetrics: string;
let admin: CertFiles;

before(async () => {
  pki = TestPki.create();
  const server = pki.issue('coordinator', { server: true });
  const agent = pki.issue('agent');
  admin = pki.issue('admin');
  coordinatorMetrics = `127.0.0.1:${await freePort()}`;
  cluster = await AgentCluster.start({
    agents: 2,
    ttlSeconds: 3,
    proxied: [1],
    coordinatorArgs: [...tlsArgs(server), '--metrics-listen', coordinatorMetrics],
    agentArgs: [...tlsArgs(agent), '--metrics-listen', '127.0.0.1:0'],
  });
});

after(async () => {
  await cluster?.stop();
  pki?.remove();
});

/** Where agent i serves metrics, from its "mounted" line (its log file is written asynchronously). */
function agentMetricsAddress(i: number): Promise<string> {
  return eventually(async () => {
    const log = fs.readFileSync(cluster.agents[i].logFile, 'utf8');
    const m = /metrics on (\S+)/.exec(log);
    assert.ok(m, `agent ${i} did not say where its metrics are:\n${log.slice(-2000)}`);
    return m[1];
  }, 5000);
}

async function scrape(address: string): Promise<Sample[]> {
  const r = await getText(address, '/metrics');
  assert.equal(r.status, 200);
  return parsePromText(r.body);
}

test('the coordinator and the agents are live and ready, and say why', async () => {
  for (const [address, why] of [[coordinatorMetrics, /^ok: leader/], [await agentMetricsAddress(0), /^ok: session \S+ open, .* mounted/]] as const) {
    assert.match((await getText(address, '/healthz')).body, /^ok: running/);
    const ready = await getText(address, '/readyz');
    assert.equal(ready.status, 200);
    assert.match(ready.body, why);
  }
  assert.equal((await getText(coordinatorMetrics, '/nothing')).status, 404);
});

test('file operations and locks show up in the metrics of both sides, with bounded labels only', async () => {
  // Agent 0 writes (WRITE token), agent 1 reads the same file: the coordinator revokes agent 0's token.
  await cluster.sh(`printf 'hello-metrics' > ${cluster.mnt(0, 'metrics-file.txt')}`);
  // Small reads (dd bs=4k) go through the page cache: the first misses, the second hits.
  const read1 = `dd if=${cluster.mnt(1, 'metrics-file.txt')} bs=4096 count=1 status=none`;
  assert.equal(await cluster.sh(read1), 'hello-metrics');
  assert.equal(await cluster.sh(read1), 'hello-metrics');
  // A range lock held by one `coherd lock` and refused to another (-n).
  const c = ['--coordinator', cluster.coordinatorAddress, ...tlsArgs(admin)];
  const holder = runCli(['lock', 'metrics-lock', ...c, '--', 'sleep', '2']);
  await eventually(async () => assert.equal((await runCli(['lock', 'metrics-lock', '-n', ...c, '--', 'true'])).code, 1), 5000);
  assert.equal((await holder).code, 0);

  const coord = await eventually(async () => {
    const s = await scrape(coordinatorMetrics);
    assert.ok(total(s, 'coherd_etcd_keepalive_latency_seconds_count') > 0, 'no heartbeat confirmed by etcd yet');
    assert.ok(total(s, 'coherd_revoke_round_trip_seconds_count') > 0, 'no revoke answered yet');
    return s;
  }, 15_000, 250);
  assert.ok(total(coord, 'coherd_grants_total', { space: 'data', mode: 'WRITE' }) >= 1);
  assert.ok(total(coord, 'coherd_grants_total', { space: 'range', mode: 'EXCLUSIVE' }) >= 1);
  assert.ok(total(coord, 'coherd_revokes_total', { space: 'data' }) >= 1);
  assert.ok(total(coord, 'coherd_refused_requests_total', { space: 'range', mode: 'EXCLUSIVE', reason: 'LOCK_CONFLICT' }) >= 1);
  assert.ok(total(coord, 'coherd_grant_latency_seconds_count') >= 2);
  assert.ok(total(coord, 'coherd_sessions') >= 2);
  assert.ok(total(coord, 'coherd_held_grants') >= 1);
  assert.equal(total(coord, 'coherd_is_leader'), 1);
  assert.equal(total(coord, 'coherd_role', { role: 'LEADER' }), 1);
  assert.equal(total(coord, 'coherd_recovery_window_open'), 0);
  assert.ok(total(coord, 'coherd_leader_epoch') > 0);
  assert.ok(has(coord, 'nodejs_eventloop_lag_p99_seconds'), 'event-loop delay');

  const agent0 = await scrape(await agentMetricsAddress(0));
  const agent1 = await scrape(await agentMetricsAddress(1));
  assert.ok(total(agent0, 'coherd_agent_vop_duration_seconds_count', { op: 'write', result: 'ok' }) >= 1);
  assert.ok(total(agent0, 'coherd_agent_token_cache_lookups_total', { result: 'miss' }) >= 1);
  assert.ok(total(agent0, 'coherd_agent_flush_duration_seconds_count', { result: 'ok' }) >= 1, 'the revoke flushed agent 0\'s dirty page');
  assert.ok(total(agent0, 'coherd_agent_flushed_bytes_total') >= 'hello-metrics'.length);
  assert.ok(total(agent0, 'coherd_agent_journal_bytes') > 0);
  assert.ok(total(agent1, 'coherd_agent_vop_duration_seconds_count', { op: 'read' }) >= 1);
  assert.ok(total(agent1, 'coherd_agent_page_cache_lookups_total', { result: 'hit' }) >= 1, 'the second read is served from the page cache');
  assert.ok(total(agent1, 'coherd_agent_page_cache_lookups_total', { result: 'miss' }) >= 1, 'the first read went to the backing store');
  assert.ok(total(agent1, 'coherd_agent_page_cache_bytes') > 0);
  assert.ok(total(agent1, 'coherd_agent_held_tokens') >= 1);
  assert.ok(has(agent1, 'coherd_agent_dirty_bytes') && has(agent1, 'coherd_agent_page_cache_bytes'));
  assert.equal(total(agent0, 'coherd_agent_self_fencing_total'), 0);

  const forbidden = ['metrics-file', 'metrics-lock', ...cluster.agents.flatMap((a) => a.sessions), cluster.backingDir];
  assert.ok(cluster.agents[0].sessions.length > 0, 'session ids known, so the label check means something');
  assert.deepEqual(unboundedLabels([...coord, ...agent0, ...agent1], forbidden), []);
});

test('a standby is ready once it knows the leader and says so', async () => {
  const m = `127.0.0.1:${await freePort()}`;
  const leader = JSON.parse((await runCli(['status', '--json', '--coordinator', cluster.coordinatorAddress, ...tlsArgs(admin)])).stdout);
  const standby = await spawnLoggedCoordinator(['--etcd', cluster.etcdEndpoint, '--listen', '127.0.0.1:0', '--metrics-listen', m], { COHERD_LOG_LEVEL: 'warn' });
  try {
    const ready = await getText(m, '/readyz');
    assert.equal(ready.status, 200);
    assert.match(ready.body, new RegExp(`standby; leader is ${leader.leader.address}`));
    const s = await scrape(m);
    assert.equal(total(s, 'coherd_role', { role: 'STANDBY' }), 1);
    assert.equal(total(s, 'coherd_is_leader'), 0);
  } finally {
    await standby.stop();
  }
});

test('an agent cut off from the coordinator fences itself: not ready, counted, and ready again with a new session', async () => {
  const address = await agentMetricsAddress(1);
  const proxy = cluster.proxies.get(1)!;
  proxy.blackhole();
  try {
    const notReady = await eventually(async () => {
      const r = await getText(address, '/readyz');
      assert.equal(r.status, 503, r.body);
      return r.body;
    }, 20_000, 100);
    assert.match(notReady, /fenced/);
    assert.equal((await getText(address, '/healthz')).status, 200, 'alive all the same');
    assert.ok(total(await scrape(address), 'coherd_agent_self_fencing_total') >= 1);
  } finally {
    proxy.heal();
  }
  await eventually(async () => assert.equal((await getText(address, '/readyz')).status, 200), 30_000, 200);
  assert.ok(total(await scrape(address), 'coherd_agent_sessions_started_total') >= 1);
});
