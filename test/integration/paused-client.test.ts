import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CLI, collect, startCluster, TestCluster } from '../support/cluster';
import { FencingStore, fencedWriterScript } from '../support/fencing-store';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import { formatFencingToken } from '../../src/common/wire';

let cluster: TestCluster;
let store: FencingStore;

before(async () => {
  cluster = await startCluster();
  store = new FencingStore();
  await store.start();
});

after(async () => {
  await store?.stop();
  await cluster?.stop();
});

test('a client paused past its TTL loses its lock to another, and the fencing-aware store refuses its late writes', async () => {
  const ttlS = 2;
  const holder = spawn(process.execPath, [CLI, 'lock', 'fenced-res', '--ttl', String(ttlS), '--coordinator', cluster.coordinator.address, '--', ...fencedWriterScript(store.url, 'paused')], {
    stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, COHERD_LOG_LEVEL: 'warn' },
  });
  const done = collect(holder, 60_000);
  try {
    while (!store.writes.some((w) => w.who === 'paused' && w.accepted)) await new Promise((r) => setTimeout(r, 20));
    process.kill(-holder.pid!, 'SIGSTOP'); // the whole group: coherd lock and its command
    const pausedAt = performance.now();

    const other = await CoherdClient.connect({ endpoints: [cluster.coordinator.address], clientName: 'successor' });
    const grant = await other.acquire({ resource: 'fenced-res', space: 'range', mode: 'EXCLUSIVE', timeoutMs: 20_000 });
    const takenOverMs = performance.now() - pausedAt;
    const res = await fetch(`${store.url}?who=successor&token=${formatFencingToken(grant.fencingToken)}`);
    assert.equal(res.status, 200);
    const successorWroteAt = performance.now();

    process.kill(-holder.pid!, 'SIGCONT');
    const result = await done;
    await other.close();
    console.log(`lock taken over ${Math.round(takenOverMs)} ms after the pause (TTL ${ttlS * 1000} ms)`);

    assert.ok(takenOverMs <= ttlS * 1000 + 1000, `taken over after ${takenOverMs} ms`);
    const late = store.writes.filter((w) => w.who === 'paused' && w.atMs > successorWroteAt);
    assert.ok(late.length >= 1, 'the paused client tried to write after it woke up');
    assert.ok(late.every((w) => !w.accepted), 'every late write was refused');
    assert.equal(result.code, 1, 'coherd lock reports the lost lock');
    assert.match(result.stderr, /lock lost/);
  } finally {
    try { process.kill(-holder.pid!, 'SIGCONT'); process.kill(-holder.pid!, 'SIGKILL'); } catch { /* gone */ }
  }
});
