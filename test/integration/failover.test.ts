import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster } from '../support/etcd-cluster';
import { CoordinatorGroup } from '../support/coordinator-group';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import { History } from '../../src/chaos/history';
import { checkHistory } from '../../src/chaos/checker';
import { LockWorkload } from '../support/lock-workload';

const LEADER_TTL_S = 2;
let etcd: EtcdCluster;
let group: CoordinatorGroup;

before(async () => {
  etcd = await EtcdCluster.start(3);
  group = new CoordinatorGroup(etcd.endpointList, ['--leader-ttl', String(LEADER_TTL_S), '--session-ttl', '8']);
  await group.start(3);
});

after(async () => {
  await group?.stop();
  await etcd?.stop();
});

test('kill -9 of the leader: holders keep their locks, waiters are served after releases, no conflicting grants', async () => {
  const endpoints = group.endpoints;
  const history = new History();
  const holder = await CoherdClient.connect({ endpoints, clientName: 'holder', ttlMs: 8000 });
  const waiter = await CoherdClient.connect({ endpoints, clientName: 'waiter', ttlMs: 8000 });
  const tokenHolder = await CoherdClient.connect({ endpoints, clientName: 'token-holder', ttlMs: 8000 });
  const probe = await CoherdClient.connect({ endpoints, clientName: 'probe', ttlMs: 8000 });
  try {
    const lock = await holder.acquire({ resource: 'fo-lock', space: 'range', mode: 'EXCLUSIVE' });
    const lockView = history.granted('holder', 'fo-lock', 'EXCLUSIVE', lock.range, lock.fencingToken, performance.now());
    const token = await tokenHolder.acquire({ resource: 'fo/1', space: 'data', mode: 'WRITE', range: { start: 0, end: 4096 } });
    let queued = false;
    const waiting = waiter.acquire({ resource: 'fo-lock', space: 'range', mode: 'EXCLUSIVE', onQueued: () => { queued = true; } });
    while (!queued) await new Promise((r) => setTimeout(r, 10));

    const leader = await group.leader();
    const killedAt = performance.now();
    leader.child.kill('SIGKILL');
    const next = await probe.acquire({ resource: 'fo-probe', space: 'range', mode: 'EXCLUSIVE', timeoutMs: 20_000 });
    const failoverMs = performance.now() - killedAt;
    console.log(`leader kill -9 → next grant: ${Math.round(failoverMs)} ms (leader TTL ${LEADER_TTL_S * 1000} ms)`);
    assert.ok(failoverMs <= LEADER_TTL_S * 1000 + 1000, `failover took ${failoverMs} ms`);
    assert.ok(next.fencingToken.epoch > lock.fencingToken.epoch, 'the new leader has a larger epoch');

    // The holders kept what they held: nobody else gets them.
    assert.equal(holder.isFenced(), false);
    assert.equal(tokenHolder.isFenced(), false);
    await assert.rejects(probe.acquire({ resource: 'fo-lock', space: 'range', mode: 'EXCLUSIVE', wait: false }), { reason: 'LOCK_CONFLICT' });
    assert.ok(holder.heldGrants().some((g) => g.lockId === lock.lockId));
    assert.ok(tokenHolder.heldGrants().some((g) => g.lockId === token.lockId));

    // The waiter is served once the holder releases.
    history.released(lockView, performance.now());
    await holder.release(lock.lockId);
    const served = await waiting;
    history.granted('waiter', 'fo-lock', 'EXCLUSIVE', served.range, served.fencingToken, performance.now());
    assert.deepEqual(checkHistory(history.intervals), []);
    assert.ok(served.fencingToken.epoch > lock.fencingToken.epoch);
    await group.restart(leader); // keep three coordinators for the next test
  } finally {
    await Promise.all([holder.close(), waiter.close(), tokenHolder.close(), probe.close()]);
  }
});

test('the leader killed five times under a lock workload: zero violations, fencing tokens monotonic', async () => {
  const workload = new LockWorkload(() => group.endpoints, { clients: 4, resources: 3, holdMs: 5 });
  await workload.start();
  const failovers: number[] = [];
  try {
    for (let round = 0; round < 5; round++) {
      await new Promise((r) => setTimeout(r, 500));
      const leader = await group.leader();
      const epochBefore = workload.maxEpoch;
      const killedAt = performance.now();
      leader.child.kill('SIGKILL');
      while (workload.maxEpoch === epochBefore) await new Promise((r) => setTimeout(r, 20));
      failovers.push(Math.round(workload.maxEpochFirstGrantAtMs - killedAt));
      await group.restart(leader);
    }
  } finally {
    await workload.stop();
  }
  console.log(`failover times (kill → first grant of the new leader): ${failovers.join(', ')} ms; ${workload.grants} grants in all; errors seen by clients: ${workload.errors.length}`);
  const violations = checkHistory(workload.history.intervals);
  assert.deepEqual(violations, []);
  assert.ok(workload.grants > 50, `only ${workload.grants} grants`);
  for (const ms of failovers) assert.ok(ms <= LEADER_TTL_S * 1000 + 1000, `failover took ${ms} ms`);
});

test('one etcd member of three killed: the cluster keeps serving', async () => {
  const client = await CoherdClient.connect({ endpoints: group.endpoints, clientName: 'etcd-member-loss', ttlMs: 8000 });
  try {
    await etcd.members[0].stop(false);
    for (let i = 0; i < 20; i++) {
      const g = await client.acquire({ resource: `member-loss-${i}`, space: 'range', mode: 'EXCLUSIVE', timeoutMs: 5000 });
      await client.release(g.lockId);
    }
    await new Promise((r) => setTimeout(r, 3000)); // several heartbeats through the remaining two members
    assert.equal(client.isFenced(), false);
    const fresh = await CoherdClient.connect({ endpoints: group.endpoints, clientName: 'after-member-loss', ttlMs: 8000 });
    await fresh.close();
  } finally {
    await client.close();
    await etcd.members[0].start();
  }
});

test('a failover right after an eviction grants nothing of the evicted holder\'s before its own deadline (tombstone in etcd)', async () => {
  const endpoints = group.endpoints;
  const stubborn = await CoherdClient.connect({ endpoints, clientName: 'stubborn', ttlMs: 8000 });
  const waiter = await CoherdClient.connect({ endpoints, clientName: 'waiter', ttlMs: 8000 });
  try {
    stubborn.setRevokeHandler(() => new Promise(() => undefined)); // never answers: evicted at the revoke deadline
    await stubborn.acquire({ resource: 'fo/evicted', space: 'data', mode: 'WRITE', range: { start: 0, end: 4096 } });
    let deadlineAtEviction = 0;
    const evicted = new Promise<void>((resolve) => stubborn.once('fenced', () => { resolve(); }));
    // Its deadline as it stood when the eviction came: until then it could still write (partitioned, it would not hear).
    const watch = setInterval(() => { if (!stubborn.isFenced()) deadlineAtEviction = stubborn.leaseDeadlineMs(); }, 5);
    const granted = waiter.acquire({ resource: 'fo/evicted', space: 'data', mode: 'WRITE', range: { start: 0, end: 4096 }, timeoutMs: 30_000 });
    await evicted;
    clearInterval(watch);
    const leader = await group.leader();
    leader.child.kill('SIGKILL');
    const grant = await granted;
    const grantedAt = performance.now();
    console.log(`evicted holder's deadline ${Math.round(deadlineAtEviction)}, waiter granted at ${Math.round(grantedAt)} (+${Math.round(grantedAt - deadlineAtEviction)} ms) after a failover`);
    assert.equal(grant.mode, 'WRITE');
    assert.ok(grantedAt >= deadlineAtEviction, `granted ${Math.round(deadlineAtEviction - grantedAt)} ms before the evicted holder's deadline`);
    await group.restart(leader);
  } finally {
    await stubborn.close();
    await waiter.close();
  }
});
