import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, TestCluster } from '../support/cluster';
import { openRaw, reasonOf } from '../support/raw-stream';
import { AdminClient } from '../../src/agent/client/admin-client';

let cluster: TestCluster;

before(async () => {
  cluster = await startCluster(['--max-waiters-per-resource', '3', '--max-sessions-per-client', '2', '--max-request-rate', '20', '--request-burst', '10']);
});

after(async () => {
  await cluster?.stop();
});

const exclusive = (resource: string, owner = '') => ({ resource, space: 'RANGE_LOCK', mode: 'EXCLUSIVE', range: { start: 0, end: 100 }, owner, wait: true });

function errorOf(m: Record<string, unknown> | undefined): Record<string, unknown> {
  return (m?.error ?? {}) as Record<string, unknown>;
}

test('waiters per session per resource: the fourth waiter gets RESOURCE_EXHAUSTED WAITER_QUOTA, others unaffected', async () => {
  const holder = await openRaw(cluster.coordinator.address, 'wq-holder');
  const hostile = await openRaw(cluster.coordinator.address, 'wq-hostile');
  const other = await openRaw(cluster.coordinator.address, 'wq-other');
  try {
    assert.ok((await holder.raw.request({ requestId: 2, acquire: exclusive('wq') }))?.granted);
    for (let i = 0; i < 3; i++) assert.equal((await hostile.raw.request({ requestId: 2 + i, acquire: exclusive('wq', `o${i}`) }))?.body, 'queued');
    const refused = await hostile.raw.request({ requestId: 5, acquire: exclusive('wq', 'o3') });
    assert.equal(reasonOf(refused), 'WAITER_QUOTA');
    assert.equal(errorOf(refused).code, 'RESOURCE_EXHAUSTED');
    assert.match(String(errorOf(refused).message), /too many waiting requests/);
    assert.equal((await other.raw.request({ requestId: 2, acquire: exclusive('wq') }))?.body, 'queued', 'another session still queues');
    assert.equal((await hostile.raw.request({ requestId: 6, acquire: exclusive('wq-elsewhere') }))?.body, 'granted', 'the session still works elsewhere');
    const dump = await new AdminClient([cluster.coordinator.address]).dumpLocks('wq');
    assert.equal((dump.waiters as unknown[]).length, 4, 'three of the hostile session and one of the other');
  } finally {
    for (const s of [holder, hostile, other]) s.raw.close();
  }
});

test('sessions per client identity: the third session of one client name gets SESSION_QUOTA; other clients open', async () => {
  const a = await openRaw(cluster.coordinator.address, 'sq-client');
  const b = await openRaw(cluster.coordinator.address, 'sq-client');
  const third = await openRaw(cluster.coordinator.address, 'sq-client').catch((e: Error) => e);
  assert.ok(third instanceof Error);
  assert.match(third.message, /SESSION_QUOTA/);
  assert.match(third.message, /RESOURCE_EXHAUSTED/);
  const stranger = await openRaw(cluster.coordinator.address, 'sq-stranger');
  // closing one frees its place
  await a.raw.request({ requestId: 2, close: {} });
  a.raw.close();
  const again = await eventuallyOpen('sq-client');
  for (const s of [b, stranger, again]) s.raw.close();
});

async function eventuallyOpen(name: string): Promise<Awaited<ReturnType<typeof openRaw>>> {
  for (let i = 0; ; i++) {
    try {
      return await openRaw(cluster.coordinator.address, name);
    } catch (e) {
      if (i > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('request rate per session: a burst beyond the quota gets RATE_LIMITED (retryable), nothing else changes', async () => {
  const hostile = await openRaw(cluster.coordinator.address, 'rl-hostile');
  const polite = await openRaw(cluster.coordinator.address, 'rl-polite');
  try {
    const n = 30;
    for (let i = 0; i < n; i++) hostile.raw.send({ requestId: 2 + i, acquire: { ...exclusive(`rl-${i}`), wait: false } });
    const replies = [];
    for (let i = 0; i < n; i++) replies.push(await hostile.raw.replyTo(2 + i));
    const limited = replies.filter((m) => reasonOf(m) === 'RATE_LIMITED');
    const granted = replies.filter((m) => m?.granted !== undefined);
    assert.equal(granted.length + limited.length, n);
    assert.ok(limited.length >= n - 10 - 5, `limited ${limited.length}`); // burst 10, plus what 20/s refills meanwhile
    assert.equal(errorOf(limited[0]).retryable, true);
    assert.equal(errorOf(limited[0]).code, 'RESOURCE_EXHAUSTED');
    const dump = await new AdminClient([cluster.coordinator.address]).dumpLocks('rl-');
    assert.equal((dump.locks as unknown[]).length, granted.length, 'only granted requests hold anything');
    assert.ok((await polite.raw.request({ requestId: 2, acquire: exclusive('rl-polite') }))?.granted, 'another session is not limited');
    const hb = await hostile.raw.request({ requestId: 100, heartbeat: {} });
    assert.ok(hb?.heartbeatAck, 'heartbeats are never limited');
  } finally {
    hostile.raw.close();
    polite.raw.close();
  }
});
