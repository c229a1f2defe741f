import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startEtcd, EtcdProcess } from '../support/etcd';
import { CLI, collect, spawnCoordinator, CoordinatorProcess } from '../support/cluster';
import { NetnsHost } from '../support/netns';
import { FencingStore, fencedWriterScript } from '../support/fencing-store';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import { formatFencingToken } from '../../src/common/wire';

const usable = NetnsHost.usable();
let etcd: EtcdProcess;
let coordinator: CoordinatorProcess;
let host: NetnsHost;
let store: FencingStore;

before(async () => {
  if (!usable) return;
  host = new NetnsHost(1);
  host.create();
  etcd = await startEtcd();
  // Reachable from the namespace: listen on our end of the veth (plain text only because it is our own test link).
  coordinator = await spawnCoordinator(etcd.endpoint, ['--insecure'], `${host.hostAddress}:0`);
  store = new FencingStore();
  await store.start(host.hostAddress);
});

after(async () => {
  await store?.stop();
  await coordinator?.stop();
  await etcd?.stop();
  host?.destroy();
});

test('a lock holder cut off by a network partition fences itself; another host gets the lock; its late writes are refused', { skip: usable ? false : 'ip netns not usable here' }, async () => {
  const ttlS = 2;
  const storeUrl = store.url; // on our end of the veth: the writer in the namespace reaches it across the link
  const [cmd, ...args] = host.exec([process.execPath, CLI, 'lock', 'netns-res', '--ttl', String(ttlS), '--coordinator', coordinator.address, '--', ...fencedWriterScript(storeUrl, 'partitioned')]);
  const holder = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, COHERD_LOG_LEVEL: 'warn' } });
  const done = collect(holder, 60_000);
  while (!store.writes.some((w) => w.who === 'partitioned' && w.accepted)) await new Promise((r) => setTimeout(r, 20));
  host.partition();
  const cutAt = performance.now();
  const other = await CoherdClient.connect({ endpoints: [coordinator.address], clientName: 'other-host' });
  try {
    const grant = await other.acquire({ resource: 'netns-res', space: 'range', mode: 'EXCLUSIVE', timeoutMs: 20_000 });
    const takenOverMs = performance.now() - cutAt;
    console.log(`lock moved to another host ${Math.round(takenOverMs)} ms after the partition (TTL ${ttlS * 1000} ms)`);
    assert.ok(takenOverMs <= ttlS * 1000 + 1000);
    assert.equal((await fetch(`${storeUrl}?who=other&token=${formatFencingToken(grant.fencingToken)}`)).status, 200);
    const otherWroteAt = performance.now();
    host.heal(); // writes the partitioned side still had in flight now reach the store
    const result = await done; // it fenced itself at its deadline and stopped its command
    assert.equal(result.code, 1);
    assert.match(result.stderr, /lock lost/);
    const late = store.writes.filter((w) => w.who === 'partitioned' && w.atMs > otherWroteAt);
    console.log(`late writes from the partitioned holder: ${late.length}, all refused: ${late.every((w) => !w.accepted)}`);
    assert.ok(late.length >= 1, 'the partitioned holder tried to write after the partition healed');
    assert.ok(late.every((w) => !w.accepted));
    const lastAcceptedFromPartitioned = Math.max(...store.writes.filter((w) => w.who === 'partitioned' && w.accepted).map((w) => w.atMs));
    const firstFromOther = store.writes.find((w) => w.who === 'other')!.atMs;
    assert.ok(lastAcceptedFromPartitioned < firstFromOther, 'no write of the partitioned holder was accepted after the new holder wrote');
  } finally {
    host.heal();
    await other.close();
    if (holder.exitCode === null) holder.kill('SIGKILL');
  }
});
