import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CLI, collect, runCli } from '../support/cluster';
import { eventually } from '../support/eventually';
import type { NetnsClusterInfo } from '../../src/cli/netns-cluster';
import { AdminClient } from '../../src/agent/client/admin-client';

function missing(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  for (const tool of ['ip', 'nsenter']) {
    try { execFileSync(tool, ['-V'], { stdio: 'ignore' }); } catch { return `needs ${tool}`; }
  }
  return fs.existsSync('/dev/fuse') ? false : 'needs /dev/fuse';
}

/** One diagnostic line per line of text (the runner escapes newlines inside one). */
function diagnostic(t: { diagnostic(m: string): void }, text: string): void {
  for (const line of text.trimEnd().split('\n')) t.diagnostic(line);
}

function sh(cmd: string): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 20_000 });
}

test('coherd up --netns runs every part on its own network namespace, survives a partitioned leader and leaves nothing behind', { skip: missing() }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-netns-test-'));
  const up = spawn(process.execPath, [CLI, 'up', '--netns', '--hosts', '2', '--coordinators', '3', '--leader-ttl', '2', '--ttl', '5', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const done = collect(up, 300_000);
  let info: NetnsClusterInfo | undefined;
  try {
    await eventually(async () => assert.ok(fs.existsSync(path.join(dir, 'cluster.json')), 'cluster.json'), 60_000, 200);
    info = JSON.parse(fs.readFileSync(path.join(dir, 'cluster.json'), 'utf8')) as NetnsClusterInfo;
    const [a1, a2] = info.agents;
    const netns = sh('ip netns list');
    for (const m of [...info.coordinators, ...info.agents]) assert.match(netns, new RegExp(m.netns));
    assert.notEqual(info.coordinators[0].address.split(':')[0], info.coordinators[1].address.split(':')[0], 'each machine has its own address');

    sh(`echo before > ${a1.mount}/f && cat ${a2.mount}/f`);
    assert.equal(fs.readFileSync(path.join(info.backing, 'f'), 'utf8'), 'before\n');

    const endpoints = info.coordinators.map((c) => c.address).join(',');
    const statusArgs = ['status', '--coordinator', endpoints, '--etcd', info.etcd, '--metrics', info.coordinators.map((c) => c.metrics).join(','), '--json'];
    const status = async () => JSON.parse((await runCli(statusArgs)).stdout) as { leader?: { address: string; recovering: boolean }; coordinators: Array<{ endpoint: string; role: string }>; etcd: Array<{ healthy: boolean }> };
    const before = await status();
    assert.ok(before.leader, 'a leader');
    assert.equal(before.coordinators.filter((c) => c.role === 'STANDBY').length, 2);
    assert.equal(before.etcd[0].healthy, true);
    const oldLeader = info.coordinators.find((c) => c.address === before.leader!.address)!;

    // Partition the leader's machine; ask the other two directly (every 50 ms) until one leads.
    const others = info.coordinators.filter((c) => c !== oldLeader).map((c) => new AdminClient([c.address], undefined, 500));
    sh(oldLeader.partition);
    const cutAt = Date.now();
    const statusDuring = runCli(statusArgs.filter((a) => a !== '--json'));
    const newLeader = await eventually(async () => {
      const roles = await Promise.all(others.map((c) => c.status().catch((): Record<string, unknown> => ({ role: 'UNREACHABLE' }))));
      const leader = roles.find((r) => r.role === 'LEADER' || r.role === 'RECOVERING');
      assert.ok(leader, 'no new leader yet');
      return leader;
    }, 60_000, 50);
    const electedMs = Date.now() - cutAt;
    await eventually(async () => {
      const roles = await Promise.all(others.map((c) => c.status().catch((): Record<string, unknown> => ({ role: 'UNREACHABLE' }))));
      assert.ok(roles.some((r) => r.role === 'LEADER'), 'recovery window still open');
    }, 60_000, 50);
    const grantingMs = Date.now() - cutAt;
    diagnostic(t, `leader ${oldLeader.name} partitioned: ${String(newLeader.leaderAddress)} elected after ${electedMs} ms, granting (recovery window closed) after ${grantingMs} ms`);
    diagnostic(t, `coherd status during the failover:\n${(await statusDuring).stdout}`);
    // Clients carry on with the new leader: a lock, and a write on one host read on the other.
    await eventually(async () => {
      const r = await runCli(['lock', 'after-failover', '--coordinator', endpoints, '--', 'true'], {}, 20_000);
      assert.equal(r.code, 0, r.stderr);
    }, 60_000, 500);
    const resumedAt = Date.now();
    diagnostic(t, `a new coherd lock succeeded ${resumedAt - cutAt} ms after the partition`);
    await eventually(async () => { sh(`echo after > ${a1.mount}/f`); assert.equal(sh(`cat ${a2.mount}/f`), 'after\n'); }, 60_000, 500);
    diagnostic(t, `a write on one agent read on the other ${Date.now() - cutAt} ms after the partition`);
    diagnostic(t, `coherd status after the failover:\n${(await runCli(statusArgs.filter((a) => a !== '--json'))).stdout}`);

    sh(oldLeader.heal);
    await eventually(async () => {
      const s = await status();
      assert.equal(s.coordinators.find((c) => c.endpoint === oldLeader.address)?.role, 'STANDBY');
    }, 30_000, 200);
  } finally {
    up.kill('SIGTERM');
    const r = await done;
    if (info) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /stopped; no namespace or mount left/);
      const left = sh('ip netns list');
      for (const m of [...info.coordinators, ...info.agents]) assert.doesNotMatch(left, new RegExp(`${m.netns}\\b`));
      assert.doesNotMatch(left, new RegExp(info.switchNetns));
      assert.doesNotMatch(fs.readFileSync('/proc/mounts', 'utf8'), new RegExp(dir));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
