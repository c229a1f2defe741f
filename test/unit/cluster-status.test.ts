import { test } from 'node:test';
import assert from 'node:assert/strict';
import { histogramQuantile, MetricSample } from '../../src/cli/metrics-scrape';
import { formatStatus } from '../../src/cli/cluster-status';

function buckets(name: string, counts: Array<[string, number]>, labels: Record<string, string> = {}): MetricSample[] {
  return counts.map(([le, value]) => ({ name: `${name}_bucket`, labels: { ...labels, le }, value }));
}

test('histogram quantiles interpolate within the bucket as Prometheus does, summed over labels', () => {
  const s = [
    ...buckets('h', [['0.01', 50], ['0.1', 90], ['1', 100], ['+Inf', 100]], { space: 'data' }),
    ...buckets('h', [['0.01', 50], ['0.1', 90], ['1', 100], ['+Inf', 100]], { space: 'range' }),
  ];
  assert.equal(histogramQuantile(s, 'h', 0.5), 0.01);
  assert.ok(Math.abs(histogramQuantile(s, 'h', 0.7) - (0.01 + 0.09 * (140 - 100) / 80)) < 1e-9);
  assert.ok(Math.abs(histogramQuantile(s, 'h', 0.99) - (0.1 + 0.9 * (198 - 180) / 20)) < 1e-9);
  assert.equal(histogramQuantile([], 'h', 0.99), 0, 'no observations');
  assert.equal(histogramQuantile(buckets('h', [['1', 0], ['+Inf', 5]]), 'h', 0.5), 1, 'beyond the last bucket: its bound');
});

test('status names the leader, the recovery window, unreachable coordinators and contention', () => {
  const text = formatStatus({
    checkedAt: '',
    leader: { endpoint: 'c2:7070', address: 'c2:7070', epoch: 9, sessions: 3, grants: 10, waiters: 2, recovering: true },
    coordinators: [
      { endpoint: 'c1:7070', id: 'c1', role: 'STANDBY', epoch: 0, uptimeMs: 5000 },
      { endpoint: 'c2:7070', id: 'c2', role: 'RECOVERING', epoch: 9, uptimeMs: 6000 },
      { endpoint: 'c3:7070', role: 'UNREACHABLE', error: 'deadline exceeded' },
    ],
    etcd: [{ url: 'http://e1:2379', healthy: false, detail: 'timeout' }],
    contended: [{ resource: 'ns/42', space: 'data', holders: 1, waiters: 2, longestWaitMs: 1500 }],
    latency: { revokeP50Ms: 2, revokeP99Ms: 8, revokes: 12, grantP99Ms: 3, keepaliveP99Ms: 4 },
  });
  assert.match(text, /^leader c2:7070 \(epoch 9\), RECOVERY WINDOW OPEN/);
  assert.match(text, /c3:7070\s+-\s+UNREACHABLE\s+-\s+deadline exceeded/);
  assert.match(text, /UNHEALTHY: timeout/);
  assert.match(text, /ns\/42\s+data\s+1\s+2\s+1\.5s/);
  assert.match(text, /revoke round trip p50 2 ms, p99 8 ms \(12 revokes\)/);
  assert.match(formatStatus({ checkedAt: '', coordinators: [], etcd: [] }), /^NO LEADER reachable/);
});
