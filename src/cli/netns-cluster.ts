import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EtcdProcess } from '../common/etcd-process';
import { Logger } from '../common/logger';
import { NetnsMachine, NetnsTopology } from './netns-topology';

export interface NetnsClusterOptions {
  base: string;
  agents: number;
  coordinators: number;
  leaderTtlSeconds: number;
  sessionTtlSeconds: number;
  logger: Logger;
}

/** What `coherd up --netns` writes to <dir>/cluster.json for scripts and tests. */
export interface NetnsClusterInfo {
  switchNetns: string;
  consoleAddress: string;
  etcd: string;
  coordinators: Array<{ name: string; netns: string; address: string; metrics: string; partition: string; heal: string }>;
  agents: Array<{ name: string; netns: string; address: string; metrics: string; mount: string; partition: string; heal: string }>;
  backing: string;
}

/**
 * etcd, coordinators and agents each on a machine of its own (a network
 * namespace on one switch), like separate hosts; the agents' FUSE mounts
 * stay visible on this host, over one shared backing directory.
 */
export class NetnsCluster {
  readonly topology = new NetnsTopology();
  private etcd: EtcdProcess | undefined;
  private readonly children: Array<{ name: string; child: ChildProcess }> = [];
  info: NetnsClusterInfo | undefined;

  constructor(private readonly o: NetnsClusterOptions) {}

  async start(): Promise<NetnsClusterInfo> {
    NetnsTopology.check();
    for (const gone of NetnsTopology.sweepStale()) this.o.logger.warn('removed a namespace left by a killed coherd up', { netns: gone });
    const t = this.topology;
    const backing = path.join(this.o.base, 'backing');
    fs.mkdirSync(backing, { recursive: true });
    t.create();
    const etcdHost = t.addMachine('etcd', 2);
    this.etcd = new EtcdProcess({ host: etcdHost.address, clientPort: 2379, peerPort: 2380, wrapper: t.run(etcdHost), dataDir: path.join(this.o.base, 'etcd'), logFile: path.join(this.o.base, 'etcd.log') });
    await this.etcd.start();
    await this.etcd.waitHealthy();
    const coordinators = Array.from({ length: this.o.coordinators }, (_, i) => t.addMachine(`c${i + 1}`, 11 + i));
    const endpoints = coordinators.map((m) => `${m.address}:7070`);
    await Promise.all(coordinators.map((m) => this.spawn(m, [
      'coordinator', '--etcd', this.etcd!.endpoint, '--listen', `${m.address}:7070`, '--insecure', '--id', m.name,
      '--metrics-listen', `${m.address}:9477`, '--leader-ttl', String(this.o.leaderTtlSeconds),
    ], /listening on/)));
    const agents = Array.from({ length: this.o.agents }, (_, i) => t.addMachine(`a${i + 1}`, 21 + i));
    await Promise.all(agents.map((m) => {
      const mount = path.join(this.o.base, `mnt-${m.name}`);
      const state = path.join(this.o.base, `state-${m.name}`);
      fs.mkdirSync(mount, { recursive: true });
      fs.mkdirSync(state, { recursive: true });
      return this.spawn(m, [
        'agent', '--coordinator', endpoints.join(','), '--backing', backing, '--mount', mount, '--namespace', 'demo',
        '--state-dir', state, '--ttl', String(this.o.sessionTtlSeconds), '--metrics-listen', `${m.address}:9478`,
      ], /mounted/);
    }));
    const cut = (m: NetnsMachine) => ({ partition: t.partitionCommand(m.name), heal: t.partitionCommand(m.name, true) });
    this.info = {
      switchNetns: t.switchNetns,
      consoleAddress: t.consoleAddress,
      etcd: this.etcd.endpoint,
      coordinators: coordinators.map((m) => ({ name: m.name, netns: m.netns, address: `${m.address}:7070`, metrics: `${m.address}:9477`, ...cut(m) })),
      agents: agents.map((m) => ({ name: m.name, netns: m.netns, address: m.address, metrics: `${m.address}:9478`, mount: path.join(this.o.base, `mnt-${m.name}`), ...cut(m) })),
      backing,
    };
    fs.writeFileSync(path.join(this.o.base, 'cluster.json'), JSON.stringify(this.info, null, 2) + '\n');
    return this.info;
  }

  /** Resolves when any child exits (the cluster is no longer whole). */
  childExited(): Promise<string> {
    return Promise.race(this.children.map(({ name, child }) => new Promise<string>((r) => child.once('exit', (code, sig) => r(`${name} exited (${code ?? sig})`)))));
  }

  /** Agents first (they flush and unmount), then coordinators, etcd and the namespaces. Never throws. */
  async stop(): Promise<void> {
    const agents = this.children.filter((c) => c.name.startsWith('a'));
    const rest = this.children.filter((c) => !c.name.startsWith('a'));
    await Promise.all(agents.map((c) => stopChild(c.child, 15_000)));
    await Promise.all(rest.map((c) => stopChild(c.child, 5_000)));
    await this.etcd?.stop(false).catch(() => undefined);
    this.topology.destroy();
  }

  private spawn(m: NetnsMachine, args: string[], ready: RegExp): Promise<void> {
    const log = fs.openSync(path.join(this.o.base, `${m.name}.log`), 'a');
    const [cmd, ...prefix] = this.topology.run(m);
    const child = spawn(cmd, [...prefix, process.execPath, process.argv[1], ...args], {
      stdio: ['ignore', 'pipe', log], env: { ...process.env, COHERD_LOG_LEVEL: process.env.COHERD_LOG_LEVEL ?? 'info' },
    });
    fs.closeSync(log);
    this.children.push({ name: m.name, child });
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${m.name} did not start within 30 s (see ${m.name}.log)`)), 30_000);
      child.stdout!.on('data', (d) => { out += d; if (ready.test(out)) { clearTimeout(timer); resolve(); } });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${m.name} exited with ${code} while starting (see ${path.join(this.o.base, `${m.name}.log`)})`)); });
    });
  }
}

async function stopChild(child: ChildProcess, killAfterMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(t);
}
