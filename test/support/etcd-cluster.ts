import { EtcdProcess } from './etcd';
import { freePort } from '../../src/common/free-port';

/** Three local etcd members forming one cluster (for failover tests). */
export class EtcdCluster {
  readonly members: EtcdProcess[] = [];

  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  /** Comma-separated, for `coherd coordinator --etcd`. */
  get endpointList(): string {
    return this.endpoints.join(',');
  }

  static async start(size = 3): Promise<EtcdCluster> {
    const cluster = new EtcdCluster();
    const ports = [];
    for (let i = 0; i < size; i++) ports.push({ client: await freePort(), peer: await freePort() });
    const initialCluster = ports.map((p, i) => `m${i}=http://127.0.0.1:${p.peer}`).join(',');
    for (let i = 0; i < size; i++) {
      cluster.members.push(new EtcdProcess({ name: `m${i}`, clientPort: ports[i].client, peerPort: ports[i].peer, initialCluster }));
    }
    try {
      await Promise.all(cluster.members.map((m) => m.start()));
      await Promise.all(cluster.members.map((m) => m.waitHealthy(20_000)));
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
}
