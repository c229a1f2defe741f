import * as path from 'node:path';
import { EtcdProcess } from '../../src/common/etcd-process';
import { freePort } from '../../src/common/free-port';
import type { Cleanup } from '../cleanup';

/** A local etcd cluster of `size` members on loopback (the idea of test/support/etcd-cluster.ts). */
export interface EtcdCluster {
  endpoints: string[];
  stop(): Promise<void>;
}

const HEALTHY_WITHIN_MS = 20_000;

/** Starts the members under `dataRoot` and waits until every one answers /health; registers teardown. */
export async function startEtcdCluster(size: number, dataRoot: string, cleanup: Cleanup): Promise<EtcdCluster> {
  const ports: Array<{ client: number; peer: number }> = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
  const initialCluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
  const members = ports.map(
    (p, i) => new EtcdProcess({ name: `m${i}`, clientPort: p.client, peerPort: p.peer, initialCluster, dataDir: path.join(dataRoot, `m${i}`) }),
  );
  const stop = cleanup.add({
    name: `etcd cluster of ${size}`,
    run: async () => {
      await Promise.all(members.map((m) => m.stop()));
    },
    runSync: () => {
      for (const m of members) if (m.pid) process.kill(m.pid, 'SIGKILL');
    },
  });
  try {
    await Promise.all(members.map((m) => m.start()));
    await Promise.all(members.map((m) => m.waitHealthy(HEALTHY_WITHIN_MS)));
  } catch (e) {
    await stop();
    throw e;
  }
  return { endpoints: members.map((m) => m.endpoint), stop };
}
