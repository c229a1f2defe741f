import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, EtcdProcess } from '../support/etcd';
import { CLI, CoordinatorProcess, spawnCoordinator, startCoordinatorProcess } from '../support/cluster';
import { TcpProxy } from '../support/tcp-proxy';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import type { FencingToken } from '../../src/coordinator/lock-table/types';

const TTL = ['--leader-ttl', '2', '--session-ttl', '4'];
let etcd: EtcdProcess;
let proxy: TcpProxy;
const started: CoordinatorProcess[] = [];

before(async () => {
  etcd = await startEtcd();
  const u = new URL(etcd.endpoint);
  proxy = new TcpProxy(u.hostname, Number(u.port));
  await proxy.start();
});

after(async () => {
  for (const c of started) await c.stop().catch(() => undefined);
  await proxy?.stop();
  await etcd?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A lock taken and released through these coordinators, retried while they fail over; its fencing token. */
async function tokenFrom(endpoints: string[], resource: string, withinMs: number): Promise<FencingToken> {
  const until = performance.now() + withinMs;
  for (;;) {
    const client = await CoherdClient.connect({ endpoints, clientName: 'takeover-probe', ttlMs: 4000, connectTimeoutMs: 2000 }).catch(() => undefined);
    try {
      if (client) {
        const g = await client.acquire({ resource, space: 'range', mode: 'EXCLUSIVE', timeoutMs: 2000 });
        await client.release(g.lockId);
        return g.fencingToken;
      }
    } catch {
      // not the leader yet, or recovering: try again
    } finally {
      await client?.close().catch(() => undefined);
    }
    if (performance.now() > until) throw new Error(`no grant from ${endpoints.join(',')} within ${withinMs} ms`);
    await sleep(300);
  }
}

test('a coordinator that loses and wins leadership again while taking over never grants tokens of its old epoch', { timeout: 90_000 }, async () => {
  // A wins first and takes 5 s to take over (test failpoint); meanwhile it is cut from etcd, loses, and B leads.
  const a = await startCoordinatorProcess(
    [process.execPath, CLI, 'coordinator', '--etcd', `http://${proxy.address}`, '--listen', '127.0.0.1:0', ...TTL],
    { COHERD_LOG_LEVEL: 'warn', COHERD_TEST_TAKEOVER_DELAY_MS: '5000' },
  );
  started.push(a);
  proxy.blackhole();
  const b = await spawnCoordinator(etcd.endpoint, TTL);
  started.push(b);
  const fromB = await tokenFrom([b.address], 'takeover-race', 20_000);
  proxy.heal();
  await sleep(6000); // A's delayed takeover of its first reign ends, long lost by then
  await b.stop();
  const fromA = await tokenFrom([a.address], 'takeover-race', 30_000).catch((e: Error) => assert.fail(`${e.message}; A logged:\n${a.log().slice(-3000)}`));
  assert.ok(fromA.epoch > fromB.epoch, `A granted epoch ${fromA.epoch}.${fromA.counter} after B's ${fromB.epoch}.${fromB.counter}:\n${a.log().slice(-2000)}`);
  // The first reign's takeover kept nothing: either it finished after the reign ended, or an etcd call of it failed
  // (the blackhole drops A's connection, sometimes before the delay) and the reign was over by then.
  assert.match(a.log(), /leadership changed while taking over|taking over failed and the reign is over/);
});
