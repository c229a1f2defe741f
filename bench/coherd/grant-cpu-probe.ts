import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import { startEtcd } from '../../src/common/etcd-process';
import { Cleanup } from '../cleanup';
import { cpuMicros, rssMiB, startCoordinatorProcess } from './cli-process';

/**
 * P3's load outside the suite, to explain its figure: a `coherd coordinator`
 * process and 8 pipelined `CoherdClient`s in this process, each looping
 * acquire → releaseLazily on its own key. Prints grants/s and the CPU each
 * process spends per grant (from /proc/PID/stat and process.cpuUsage()),
 * which says where the time goes when both processes are far from busy.
 *
 *   node dist/bench/coherd/grant-cpu-probe.js [seconds=5] [contenders=8]
 */

async function main(seconds: number, contenders: number): Promise<void> {
  const cleanup = new Cleanup((name, e) => console.error(`cleanup of ${name} failed: ${String(e)}`));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-grant-probe-'));
  cleanup.add({ name: 'temp dir', run: () => fs.promises.rm(root, { recursive: true, force: true }) });
  try {
    const etcd = await startEtcd({ name: 'grant-probe', dataDir: path.join(root, 'etcd') });
    cleanup.add({ name: 'etcd', run: () => etcd.stop() });
    const coordinator = await startCoordinatorProcess({ etcdEndpoints: [etcd.endpoint], cleanup });
    const clients = await Promise.all(Array.from({ length: contenders }, (_, i) =>
      CoherdClient.connect({ endpoints: [coordinator.address], clientName: `probe-${i}`, ttlMs: 10_000 })));
    cleanup.add({ name: 'clients', run: async () => { await Promise.all(clients.map((c) => c.close())); } });
    let grants = 0;
    let stop = false;
    const loops = clients.map(async (client, i) => {
      while (!stop) {
        const grant = await client.acquire({ resource: `probe-${i}`, space: 'range', mode: 'EXCLUSIVE', range: { start: 0, end: 1 } });
        grants++;
        client.releaseLazily(grant.lockId);
      }
    });
    await new Promise((r) => setTimeout(r, 1000)); // warm-up
    const g0 = grants, coord0 = cpuMicros(coordinator.pid), self0 = process.cpuUsage(), t0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const n = grants - g0, coordUs = cpuMicros(coordinator.pid) - coord0, self = process.cpuUsage(self0), ms = Date.now() - t0;
    stop = true;
    await Promise.all(loops);
    console.log(JSON.stringify({
      contenders,
      grantsPerSec: Math.round(n / (ms / 1000)),
      coordinatorCpuUsPerGrant: +(coordUs / n).toFixed(1),
      clientCpuUsPerGrant: +((self.user + self.system) / n).toFixed(1),
      coordinatorRssMiB: Math.round(rssMiB(coordinator.pid)),
      loadAvg1m: +os.loadavg()[0].toFixed(2),
    }));
  } finally {
    await cleanup.runAll();
  }
}

if (require.main === module) {
  const [seconds = 5, contenders = 8] = process.argv.slice(2).map(Number);
  main(seconds, contenders).then(() => process.exit(0), (e) => {
    console.error(e);
    process.exit(1);
  });
}
