import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { Logger, silentLogger } from '../../common/logger';
import { freePort } from '../../common/free-port';
import { forceUnmount, readMountInfo } from '../../agent/fuse/stale-mount';
import { AgentProcess } from '../../../test/support/agent-process';
import { EtcdCluster } from '../../../test/support/etcd-cluster';
import { sweepLeftoverMounts } from '../../../test/support/fuse-mount';
import { CoordinatorSlot } from './coordinator-slot';
import { ChaosNetwork } from './chaos-network';
import { HostLink } from './host-link';
import { CuttableLink } from './netns-link';
import { SlowStore } from './slow-store';

export const CHAOS_PREFIX = nodePath.join(os.tmpdir(), 'coherd-chaos-');
const DATA_DIR = 'data';
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

export interface ChaosClusterOptions {
  agents: number;
  coordinators: number;
  lockHosts: number;
  ttlSeconds: number;
  logger: Logger;
  /** Every host on a network namespace of its own; faults drop real packets. */
  netns?: boolean;
  /** The agents' backing directory is a delaying passthrough of the store (for the slow-store fault). */
  slowStore?: boolean;
  /** COHERD_TEST_PLANT of agent-0 (every start of it): a bug planted in a real agent. */
  agentPlant?: string;
  /** Agents answer read-only opens through the kernel page cache (--kernel-page-cache yes; the default); false: no. */
  kernelPageCache?: boolean;
}

/** A host's way to the coordinators: fault proxies on loopback, or (--netns) its machine's links. */
export type ClusterLink = CuttableLink & { readonly endpoints: string[]; stop(): Promise<void> };

/** An agent and the link its traffic to the coordinators takes. */
export interface AgentHost {
  agent: AgentProcess;
  link: ClusterLink;
  /** argv prefix it runs under (--netns: nsenter into its machine). */
  wrapper: string[];
  /** FAKETIME spec it runs under, if skewed. */
  faketime?: string;
}

/**
 * The cluster a chaos run owns: 3 etcd members, 2–3 coordinators on fixed
 * addresses (each behind its own etcd proxies), N agents mounting one
 * backing directory, and the links of in-process lock clients; every
 * host↔coordinator link through fault proxies on loopback, or with netns
 * every host on a machine of its own (ChaosNetwork).
 */
export class ChaosCluster {
  etcd: EtcdCluster | undefined;
  readonly coordinators: CoordinatorSlot[] = [];
  readonly agents: AgentHost[] = [];
  readonly lockLinks: ClusterLink[] = [];
  network: ChaosNetwork | undefined;
  slowStore: SlowStore | undefined;
  /** Told every lease deadline an agent logs (remainingMs from now; null: fenced), as it arrives. */
  onLease: ((host: string, remainingMs: number | null) => void) | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(readonly root: string, private readonly o: ChaosClusterOptions) {}

  /** What the agents mount (with slowStore, the delaying passthrough of storeDir). */
  get backingDir(): string {
    return nodePath.join(this.root, 'backing');
  }

  /** The store itself, where the harness sets up and reads the final state. */
  get storeDir(): string {
    return this.o.slowStore ? nodePath.join(this.root, 'store') : this.backingDir;
  }

  static async start(o: ChaosClusterOptions): Promise<ChaosCluster> {
    await sweepLeftoverMounts(CHAOS_PREFIX);
    const root = await fsp.mkdtemp(CHAOS_PREFIX);
    await fsp.writeFile(nodePath.join(root, 'owner.pid'), String(process.pid));
    const c = new ChaosCluster(root, o);
    try {
      await fsp.mkdir(c.bak(), { recursive: true });
      if (o.slowStore) {
        c.slowStore = new SlowStore(c.storeDir, c.backingDir);
        await c.slowStore.start();
      }
      const net = o.netns ? (c.network = ChaosNetwork.create({ agents: o.agents, coordinators: o.coordinators, lockHosts: o.lockHosts, logger: o.logger })) : undefined;
      o.logger.info('starting etcd', { members: 3, netns: !!net });
      if (net) {
        c.etcd = net.etcdCluster(root);
        await Promise.all(c.etcd.members.map((m) => m.start()));
        await Promise.all(c.etcd.members.map((m) => m.waitHealthy(20_000)));
      } else {
        c.etcd = await EtcdCluster.start(3);
      }
      // --insecure: plain text off loopback, acceptable only because the switch is the run's own and routes nowhere.
      const args = ['--session-ttl', String(o.ttlSeconds), '--leader-ttl', '2', '--revoke-deadline', '3', ...(net ? ['--insecure'] : [])];
      for (let i = 0; i < o.coordinators; i++) {
        c.coordinators.push(net
          ? new CoordinatorSlot(i, net.coordinatorAddress(i), args, { wrapper: net.topology.run(net.coordinators[i]), etcdLink: net.etcdLink(i) })
          : new CoordinatorSlot(i, `127.0.0.1:${await freePort()}`, args));
      }
      for (const slot of c.coordinators) await slot.start(c.etcd.endpoints);
      const addresses = c.coordinators.map((s) => s.address);
      const proxied = async (name: string) => {
        const link = new HostLink(name);
        await link.start(addresses);
        return link;
      };
      for (let i = 0; i < o.agents; i++) {
        const link = net ? net.agentLink(i) : await proxied(`agent-${i}`);
        const agent = new AgentProcess(i, nodePath.join(root, `mnt-${i}`), nodePath.join(root, `state-${i}`), nodePath.join(root, `agent-${i}.log`));
        await fsp.mkdir(agent.mountPoint);
        await fsp.mkdir(agent.stateDir);
        agent.onRecord = (r) => {
          if (r.message === 'lease deadline' && (r.remainingMs === null || typeof r.remainingMs === 'number')) c.onLease?.(`agent-${i}`, r.remainingMs as number | null);
        };
        c.agents.push({ agent, link, wrapper: net ? net.topology.run(net.agents[i]) : [] });
      }
      for (let i = 0; i < o.lockHosts; i++) c.lockLinks.push(net ? await net.lockLink(i) : await proxied(`lock-${i}`));
      o.logger.info('starting agents', { agents: o.agents });
      await Promise.all(c.agents.map((a) => c.startAgent(a)));
      return c;
    } catch (e) {
      await c.stop();
      throw e;
    }
  }

  /**
   * A path in agent i's view of the shared data directory. Workloads use
   * only paths under data/, which exists in the backing directory and never
   * in a bare mount point: while an agent is down, calls fail with ENOENT
   * instead of writing into the empty mount point directory.
   */
  mnt(i: number, ...parts: string[]): string {
    return nodePath.join(this.agents[i].agent.mountPoint, DATA_DIR, ...parts);
  }

  /** The same path in the backing directory (for setup and the final reads, never while agents use it). */
  bak(...parts: string[]): string {
    return nodePath.join(this.storeDir, DATA_DIR, ...parts);
  }

  /** (Re)starts an agent on its mount; with faketime, its clocks run at the given FAKETIME spec. */
  async startAgent(a: AgentHost, faketime?: string): Promise<void> {
    a.faketime = faketime;
    await forceUnmount(a.agent.mountPoint, silentLogger()).catch(() => undefined);
    const args = [
      '--coordinator', a.link.endpoints.join(','),
      '--backing', this.backingDir,
      '--mount', a.agent.mountPoint,
      '--namespace', 'chaos',
      '--state-dir', a.agent.stateDir,
      '--ttl', String(this.o.ttlSeconds),
      '--kernel-page-cache', this.o.kernelPageCache === false ? 'no' : 'yes',
      // The harness's own O_RDWR opens are the register-mmap-write workload's mappings (docs/chaos.md).
      '--writable-mappings', 'yes',
    ];
    const env: NodeJS.ProcessEnv = { ...process.env, COHERD_LOG_LEVEL: process.env.COHERD_CHAOS_AGENT_LOG_LEVEL ?? 'info', COHERD_LOG_LEASE_DEADLINE: '1' };
    if (this.o.agentPlant && a === this.agents[0]) env.COHERD_TEST_PLANT = this.o.agentPlant;
    if (faketime) Object.assign(env, { LD_PRELOAD: LIBFAKETIME, FAKETIME: faketime, FAKETIME_NO_CACHE: '1' });
    await a.agent.start(args, env, 30_000, a.wrapper);
  }

  /** The coordinator that says it leads, or undefined. */
  async leader(): Promise<CoordinatorSlot | undefined> {
    for (const s of this.coordinators) {
      const role = await s.role();
      if (role === 'LEADER' || role === 'RECOVERING') return s;
    }
    return undefined;
  }

  /** Every pid this cluster started (for the exit hook). */
  pids(): number[] {
    const out: number[] = [];
    for (const a of this.agents) if (a.agent.child?.pid) out.push(a.agent.child.pid);
    for (const s of this.coordinators) if (s.pid) out.push(s.pid);
    for (const m of this.etcd?.members ?? []) if (m.pid) out.push(m.pid);
    if (this.slowStore?.pid) out.push(this.slowStore.pid);
    for (const l of this.lockLinks) if ('forwarderPid' in l && typeof l.forwarderPid === 'number') out.push(l.forwarderPid);
    return out;
  }

  /** Stops everything in order and removes the temp root; never throws; idempotent. */
  stop(keep = false): Promise<void> {
    this.stopping ??= this.doStop(keep);
    return this.stopping;
  }

  /** Continues and stops every agent (SIGTERM: they flush and unmount), then detaches whatever mount is left. */
  async stopAgents(): Promise<void> {
    const quietly = (p: Promise<unknown>) => p.catch((e: Error) => this.o.logger.warn('cleanup step failed', { error: e.message }));
    for (const a of this.agents) a.link.heal();
    await Promise.all(this.agents.map((a) => quietly(a.agent.signal('SIGTERM'))));
    for (const a of this.agents) {
      await quietly(forceUnmount(a.agent.mountPoint, silentLogger()));
      a.agent.closeLog();
    }
  }

  /** Copies every agent's and coordinator's log into dir (a failed run's evidence); the agents must be stopped. */
  async saveLogs(dir: string): Promise<void> {
    await fsp.mkdir(dir, { recursive: true });
    for (const [i, a] of this.agents.entries()) await fsp.copyFile(a.agent.logFile, nodePath.join(dir, `agent-${i}.log`)).catch(() => undefined);
    for (const c of this.coordinators) await fsp.writeFile(nodePath.join(dir, `${c.name}.log`), c.logs());
  }

  private async doStop(keep: boolean): Promise<void> {
    const quietly = (p: Promise<unknown>) => p.catch((e: Error) => this.o.logger.warn('cleanup step failed', { error: e.message }));
    await this.stopAgents();
    for (const l of [...this.agents.map((a) => a.link), ...this.lockLinks]) await quietly(l.stop());
    if (this.slowStore) await quietly(this.slowStore.stop());
    for (const s of this.coordinators) await quietly(s.stop());
    if (this.etcd) await quietly(this.etcd.stop());
    this.network?.destroy();
    const leftover = (await readMountInfo().catch(() => [])).filter((m) => m.mountPoint.startsWith(this.root + '/'));
    if (keep || leftover.length > 0) {
      // Never recurse into a mount; the next run's sweep detaches it.
      this.o.logger.warn('kept the cluster directory', { root: this.root, stillMounted: leftover.map((m) => m.mountPoint) });
      return;
    }
    await quietly(fsp.rm(this.root, { recursive: true, force: true }));
  }
}
