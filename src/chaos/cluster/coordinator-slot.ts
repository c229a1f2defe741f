import { AdminClient } from '../../agent/client/admin-client';
import { CoordinatorProcess, spawnCoordinator, stopChild } from '../../../test/support/cluster';
import { TcpProxy } from '../../../test/support/tcp-proxy';

/**
 * One coordinator at a fixed address (clients know coordinators by
 * address), reaching each etcd member through its own fault proxy so it
 * alone can be cut from etcd.
 */
export class CoordinatorSlot {
  readonly etcdProxies: TcpProxy[] = [];
  proc: CoordinatorProcess | undefined;

  constructor(readonly index: number, readonly address: string, private readonly args: string[]) {}

  get name(): string {
    return `coordinator-${this.index}`;
  }

  get alive(): boolean {
    const c = this.proc?.child;
    return !!c && c.exitCode === null && c.signalCode === null;
  }

  get pid(): number | undefined {
    return this.proc?.child.pid;
  }

  async start(etcdEndpoints: readonly string[]): Promise<void> {
    if (this.etcdProxies.length === 0) {
      for (const e of etcdEndpoints) {
        const u = new URL(e);
        const p = new TcpProxy(u.hostname, Number(u.port));
        await p.start();
        this.etcdProxies.push(p);
      }
    }
    await this.spawn();
  }

  async spawn(): Promise<void> {
    const etcd = this.etcdProxies.map((p) => `http://${p.address}`).join(',');
    this.proc = await spawnCoordinator(etcd, this.args, this.address);
  }

  async kill(): Promise<void> {
    if (this.proc) await stopChild(this.proc.child, 'SIGKILL');
  }

  /** LEADER, RECOVERING, STANDBY… or undefined when it does not answer. */
  async role(): Promise<string | undefined> {
    if (!this.alive) return undefined;
    const s = await new AdminClient([this.address], undefined, 1000).status().catch(() => undefined);
    return s ? String(s.role) : undefined;
  }

  async stop(): Promise<void> {
    if (this.proc) await this.proc.stop().catch(() => undefined);
    await Promise.all(this.etcdProxies.map((p) => p.stop()));
  }
}
