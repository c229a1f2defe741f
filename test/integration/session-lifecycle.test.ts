import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, TestCluster } from '../support/cluster';
import { TcpProxy } from '../support/tcp-proxy';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import { AdminClient } from '../../src/agent/client/admin-client';
import { splitHostPort } from '../../src/coordinator/transport-security';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as path from 'node:path';

let cluster: TestCluster;

before(async () => {
  cluster = await startCluster(['--revoke-deadline', '1']);
});

after(async () => {
  await cluster?.stop();
});

test('a client that ignores a revoke is evicted and told, and the waiter is granted', async () => {
  const endpoints = [cluster.coordinator.address];
  const stubborn = await CoherdClient.connect({ endpoints, clientName: 'stubborn' });
  const waiter = await CoherdClient.connect({ endpoints, clientName: 'waiter' });
  try {
    stubborn.setRevokeHandler(() => new Promise(() => undefined)); // never answers
    const fenced = new Promise<string>((r) => stubborn.once('fenced', r));
    await stubborn.acquire({ resource: 'ns/42', space: 'data', mode: 'WRITE', range: { start: 0, end: 4096 } });
    const started = Date.now();
    const grant = await waiter.acquire({ resource: 'ns/42', space: 'data', mode: 'WRITE', range: { start: 0, end: 4096 }, timeoutMs: 10_000 });
    assert.equal(await fenced, 'SESSION_EVICTED');
    assert.equal(stubborn.isFenced(), true);
    assert.equal(grant.mode, 'WRITE');
    const grantedAfterMs = Date.now() - started;
    console.log(`stubborn holder evicted and waiter granted after ${grantedAfterMs} ms (revoke deadline 1000 ms, holder TTL 3000 ms)`);
    // The evicted holder could still write until its own lease deadline, so its token blocks until then.
    assert.ok(grantedAfterMs >= 1000, 'not before the revoke deadline');
    await assert.rejects(stubborn.acquire({ resource: 'other', space: 'range', mode: 'SHARED' }), { reason: 'LEASE_DEADLINE_PASSED' });
  } finally {
    await stubborn.close();
    await waiter.close();
  }
});

test('a TTL etcd cannot keep is rounded up once, and that one TTL is what the client and the coordinator use', async () => {
  const client = await CoherdClient.connect({ endpoints: [cluster.coordinator.address], clientName: 'ttl', ttlMs: 2500 });
  try {
    assert.equal(client.ttlMs, 3000, 'etcd keeps whole seconds: the session has the TTL etcd granted');
    assert.ok(client.leaseDeadlineMs() <= performance.now() + 3000, 'the client\'s deadline is within that TTL');
  } finally {
    await client.close();
  }
});

test('a holder that answers a revoke keeps working and the requester is granted', async () => {
  const endpoints = [cluster.coordinator.address];
  const a = await CoherdClient.connect({ endpoints, clientName: 'a' });
  const b = await CoherdClient.connect({ endpoints, clientName: 'b' });
  try {
    const revoked: number[] = [];
    a.setRevokeHandler(async (n) => { revoked.push(n.lockId); return { released: true }; });
    const held = await a.acquire({ resource: 'ns/7', space: 'data', mode: 'READ', range: { start: 0, end: 100 } });
    const got = await b.acquire({ resource: 'ns/7', space: 'data', mode: 'WRITE', range: { start: 0, end: 100 }, timeoutMs: 5000 });
    assert.deepEqual(revoked, [held.lockId]);
    assert.ok(got.fencingToken.counter > held.fencingToken.counter || got.fencingToken.epoch > held.fencingToken.epoch);
    assert.equal(a.isFenced(), false);
  } finally {
    await a.close();
    await b.close();
  }
});

test('a client that resumes its session within TTL keeps its locks', async () => {
  const { host, port } = splitHostPort(cluster.coordinator.address);
  const proxy = new TcpProxy(host, port);
  await proxy.start();
  const client = await CoherdClient.connect({ endpoints: [proxy.address], clientName: 'resumer', ttlMs: 4000 });
  const other = await CoherdClient.connect({ endpoints: [cluster.coordinator.address], clientName: 'other' });
  try {
    const grant = await client.acquire({ resource: 'res-resume', space: 'range', mode: 'EXCLUSIVE' });
    const sessionBefore = client.sessionId;
    const reconnected = new Promise<void>((r) => client.once('reconnected', () => r()));
    proxy.cutAll();
    await reconnected;
    assert.equal(client.sessionId, sessionBefore);
    assert.equal(client.isFenced(), false);
    await assert.rejects(other.acquire({ resource: 'res-resume', space: 'range', mode: 'EXCLUSIVE', wait: false }), { reason: 'LOCK_CONFLICT' });
    const dump = await new AdminClient([cluster.coordinator.address]).dumpLocks('res-resume');
    const locks = dump.locks as Array<Record<string, unknown>>;
    assert.equal(locks.length, 1);
    assert.equal(locks[0].sessionId, sessionBefore);
    await client.release(grant.lockId);
    const next = await other.acquire({ resource: 'res-resume', space: 'range', mode: 'EXCLUSIVE', wait: false });
    assert.equal(next.resource, 'res-resume');
  } finally {
    await client.close();
    await other.close();
    await proxy.stop();
  }
});

test('a waiting acquire survives a broken stream and is granted after resume', async () => {
  const { host, port } = splitHostPort(cluster.coordinator.address);
  const proxy = new TcpProxy(host, port);
  await proxy.start();
  const holder = await CoherdClient.connect({ endpoints: [cluster.coordinator.address], clientName: 'holder' });
  const waiter = await CoherdClient.connect({ endpoints: [proxy.address], clientName: 'waiter', ttlMs: 4000 });
  try {
    const held = await holder.acquire({ resource: 'res-replay', space: 'range', mode: 'EXCLUSIVE' });
    let queued = false;
    const pending = waiter.acquire({ resource: 'res-replay', space: 'range', mode: 'EXCLUSIVE', onQueued: () => { queued = true; } });
    while (!queued) await new Promise((r) => setTimeout(r, 10));
    proxy.cutAll();
    await holder.release(held.lockId); // the grant is made while the waiter's stream is down
    const grant = await pending;
    assert.equal(grant.resource, 'res-replay');
  } finally {
    await holder.close();
    await waiter.close();
    await proxy.stop();
  }
});

test('an acquire aborted while it waits is withdrawn: the caller gets CANCELLED and the lock goes to the next waiter', async () => {
  const endpoints = [cluster.coordinator.address];
  const holder = await CoherdClient.connect({ endpoints, clientName: 'abort-holder' });
  const quitter = await CoherdClient.connect({ endpoints, clientName: 'quitter' });
  const patient = await CoherdClient.connect({ endpoints, clientName: 'patient' });
  try {
    const held = await holder.acquire({ resource: 'res-abort', space: 'range', mode: 'EXCLUSIVE' });
    const abort = new AbortController();
    let queued = false;
    const quitting = quitter.acquire({ resource: 'res-abort', space: 'range', mode: 'EXCLUSIVE', signal: abort.signal, onQueued: () => { queued = true; } });
    while (!queued) await new Promise((r) => setTimeout(r, 10));
    const waiting = patient.acquire({ resource: 'res-abort', space: 'range', mode: 'EXCLUSIVE' });
    abort.abort();
    await assert.rejects(quitting, { reason: 'CANCELLED' });
    await holder.release(held.lockId);
    const next = await waiting;
    assert.equal(next.resource, 'res-abort');
    assert.equal(quitter.heldGrants().length, 0);
  } finally {
    await Promise.all([holder.close(), quitter.close(), patient.close()]);
  }
});

test('the coordinator answers the standard gRPC health check', async () => {
  const protoPath = path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto', 'health', 'v1', 'health.proto');
  const def = protoLoader.loadSync(protoPath, { keepCase: true, enums: String, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
  const client = new pkg.grpc.health.v1.Health(cluster.coordinator.address, grpc.credentials.createInsecure());
  try {
    const check = (service: string) => new Promise<string>((resolve, reject) =>
      (client as unknown as { Check(req: object, cb: (e: Error | null, r: { status: string }) => void): void }).Check({ service }, (e, r) => (e ? reject(e) : resolve(r.status))));
    assert.equal(await check(''), 'SERVING');
    assert.equal(await check('coherd.v1.Session'), 'SERVING');
  } finally {
    client.close();
  }
});
