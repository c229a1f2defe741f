import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { SystemClock } from '../../src/common/clock';
import { CoordinatorMetrics } from '../../src/common/metrics/coordinator-metrics';
import { AgentMetrics } from '../../src/common/metrics/agent-metrics';
import * as os from 'node:os';
import { silentLogger } from '../../src/common/logger';
import { ReplicaFollower } from '../../src/replica/replica-follower';
import { ReplicaMetrics } from '../../src/replica/replica-metrics';

const DASHBOARD = path.resolve(__dirname, '../../../deploy/grafana/coherd-dashboard.json');

let replicaNames: string[] = [];

before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-catalog-'));
  try {
    const follower = await ReplicaFollower.open({
      namespace: 'ns', journalRoots: [], listSessions: async () => ({ sessions: [] }), mirrorDir: path.join(dir, 'mirror'), stateDir: path.join(dir, 'state'), logger: silentLogger(),
    });
    replicaNames = new ReplicaMetrics(follower, new SystemClock(), new Registry()).registry.getMetricsAsArray().map((m) => m.name);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function registeredNames(): Set<string> {
  const coordinator = new CoordinatorMetrics(new SystemClock(), {
    sessions: () => 0, tableStats: () => undefined, role: () => 'STANDBY', epoch: () => 0, recoveryOpen: () => false,
  }, new Registry());
  const agent = new AgentMetrics(new SystemClock(), '/nonexistent', new Registry());
  return new Set([...[...coordinator.registry.getMetricsAsArray(), ...agent.registry.getMetricsAsArray()].map((m) => m.name), ...replicaNames]);
}

/** coherd_* metric names used in the dashboard's queries, with histogram suffixes removed. */
function dashboardNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/\b(coherd_[a-z_]+)/g)) names.add(m[1].replace(/_(bucket|count|sum)$/, ''));
  return names;
}

test('every coherd metric the Grafana dashboard queries exists, and every coherd metric is on the dashboard', () => {
  const registered = registeredNames();
  const used = dashboardNames(fs.readFileSync(DASHBOARD, 'utf8'));
  assert.deepEqual([...used].filter((n) => !registered.has(n)), [], 'dashboard queries metrics nobody exports');
  assert.deepEqual([...registered].filter((n) => n.startsWith('coherd_') && !used.has(n)), [], 'metrics missing from the dashboard');
});

test('the catalog check catches a dashboard query of a metric that does not exist', () => {
  const used = dashboardNames('rate(coherd_grants_totl[5m])');
  assert.deepEqual([...used].filter((n) => !registeredNames().has(n)), ['coherd_grants_totl']);
});

test('the dashboard is valid JSON with unique panel ids and a Prometheus data source variable', () => {
  const d = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ id: number }>; templating: { list: Array<{ name: string }> } };
  const ids = d.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(d.templating.list.some((v) => v.name === 'datasource'));
});
