import { AdminClient } from '../../agent/client/admin-client';
import { CoordinatorProcess, spawnCoordinator, stopChild } from '../../../test/support/cluster';
import { TcpProxy } from '../../../test/support/tcp-proxy';
import { CuttableLink, NetnsLink } from './netns-link';

/** With --netns: the coordinator's machine (argv prefix) and its links to the etcd members. */
export interface CoordinatorNetns {
  wrapper: string[];
  etcdLink: NetnsLink;
}

/**
 * One coordinator at a fixed address (clients know coordinators by
 * address), reaching each etcd member through its own fault proxy so it
 * alone can be cut from etcd — or, with --netns, on a machine of its own
 * whose packets to and from the etcd machines can be dropped.
 */
export class CoordinatorSlot {
  readonly etcdProxies: TcpProxy[] = [];
  proc: CoordinatorProcess | undefined;
  private etcdEndpoints: string[] = [];
  /** What earlier processes of this slot logged (a killed leader's log is evidence too). */
  private earlierLogs = '';

  constructor(readonly index: number, readonly address: string, private readonly args: string[], private readonly netns?: CoordinatorNetns) {}

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

  /** What a coordinator↔etcd partition cuts. */
  get etcdLink(): CuttableLink {
    if (this.netns) return this.netns.etcdLink;
    const proxies = this.etcdProxies;
    return {
      name: this.name,
      blackhole: () => proxies.forEach((p) => p.blackhole()),
      dropOneWay: (d) => proxies.forEach((p) => p.dropOneWay(d)),
      heal: () => proxies.forEach((p) => p.heal()),
    };
  }

  async start(etcdEndpoints: readonly string[]): Promise<void> {
    if (this.netns) {
      this.etcdEndpoints = [...etcdEndpoints];
    } else if (this.etcdProxies.length === 0) {
      for (const e of etcdEndpoints) {
        const u = new URL(e);
        const p = new TcpProxy(u.hostname, Number(u.port));
        await p.start();
        this.etcdProxies.push(p);
      }
      this.etcdEndpoints = this.etcdProxies.map((p) => `http://${p.address}`);
    }
    await this.spawn();
  }

  /** Everything every process of this slot logged, oldest first. */
  logs(): string {
    return this.earlierLogs + (this.proc?.log() ?? '');
  }

  async spawn(): Promise<void> {
    if (this.proc) this.earlierLogs += this.proc.log();
    this.proc = await spawnCoordinator(this.etcdEndpoints.join(','), this.args, this.address, this.netns?.wrapper ?? []);
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
    this.netns?.etcdLink.heal();
    await Promise.all(this.etcdProxies.map((p) => p.stop()));
  }
}
