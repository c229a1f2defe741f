import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, EtcdProcess } from '../support/etcd';
import { spawnCoordinator, CoordinatorProcess } from '../support/cluster';
import { CoherdClient } from '../../src/agent/client/coherd-client';

const SESSION_TTL_MS = 6000;
let etcd: EtcdProcess;
let coordinator: CoordinatorProcess;

before(async () => {
  etcd = await startEtcd();
  coordinator = await spawnCoordinator(etcd.endpoint, ['--leader-ttl', '5', '--session-ttl', String(SESSION_TTL_MS / 1000)]);
});

after(async () => {
  await coordinator?.stop();
  await etcd?.stop();
});

async function outage(ms: number): Promise<void> {
  await etcd.stop(false);
  await new Promise((r) => setTimeout(r, ms));
  await etcd.start();
  await etcd.waitHealthy();
}

test('etcd down for less than the TTL: held locks stay, no session is evicted, work goes on', async () => {
  const endpoints = [coordinator.address];
  const holder = await CoherdClient.connect({ endpoints, clientName: 'holder', ttlMs: SESSION_TTL_MS });
  const other = await CoherdClient.connect({ endpoints, clientName: 'other', ttlMs: SESSION_TTL_MS });
  let fenced = false;
  holder.on('fenced', () => { fenced = true; });
  other.on('fenced', () => { fenced = true; });
  try {
    const lock = await holder.acquire({ resource: 'outage-short', space: 'range', mode: 'EXCLUSIVE' });
    const sessionBefore = holder.sessionId;
    await outage(2500);
    await new Promise((r) => setTimeout(r, 2000)); // heartbeats go through again
    assert.equal(fenced, false, 'no client lost its session');
    assert.equal(holder.sessionId, sessionBefore);
    await assert.rejects(other.acquire({ resource: 'outage-short', space: 'range', mode: 'EXCLUSIVE', wait: false }), { reason: 'LOCK_CONFLICT' });
    await holder.release(lock.lockId);
    const next = await other.acquire({ resource: 'outage-short', space: 'range', mode: 'EXCLUSIVE', timeoutMs: 5000 });
    assert.ok(next.fencingToken.counter > lock.fencingToken.counter || next.fencingToken.epoch > lock.fencingToken.epoch);
  } finally {
    await holder.close();
    await other.close();
  }
});

test('etcd down for longer than the TTL: clients fence themselves on time and come back with new sessions', async () => {
  const endpoints = [coordinator.address];
  const client = await CoherdClient.connect({ endpoints, clientName: 'long-outage', ttlMs: SESSION_TTL_MS, renewSession: true });
  try {
    await client.acquire({ resource: 'outage-long', space: 'range', mode: 'EXCLUSIVE' });
    const sessionBefore = client.sessionId;
    const fenced = new Promise<number>((r) => client.once('fenced', () => r(performance.now())));
    const renewed = new Promise<string>((r) => client.once('session', r));
    const stoppedAt = performance.now();
    const down = outage(SESSION_TTL_MS + 2000);
    const fencedAt = await fenced;
    console.log(`client fenced ${Math.round(fencedAt - stoppedAt)} ms into the etcd outage (TTL ${SESSION_TTL_MS} ms)`);
    // The last heartbeat etcd confirmed may have been sent while etcd was shutting down, a little after stoppedAt.
    assert.ok(fencedAt - stoppedAt <= SESSION_TTL_MS + 500, 'fenced about one TTL after its last acknowledged heartbeat');
    assert.equal(client.isFenced(), true);
    await assert.rejects(client.acquire({ resource: 'x', space: 'range', mode: 'SHARED' }), { name: 'SessionLostError' });
    await down;
    const newSession = await renewed;
    assert.notEqual(newSession, sessionBefore);
    const again = await client.acquire({ resource: 'outage-long', space: 'range', mode: 'EXCLUSIVE', timeoutMs: 20_000 });
    assert.equal(again.resource, 'outage-long');
  } finally {
    await client.close();
  }
});
