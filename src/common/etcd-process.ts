import { ChildProcess, SpawnOptions, spawn } from 'node:child_process';
import * as https from 'node:https';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './free-port';

export interface EtcdProcessOptions {
  /** Member name; default "coherd-etcd". */
  name?: string;
  /** Data dir; default a fresh temp dir removed on stop(). */
  dataDir?: string;
  clientPort?: number;
  peerPort?: number;
  /** For a cluster: "name1=http://127.0.0.1:p1,name2=…"; default this member alone. */
  initialCluster?: string;
  /** Where etcd's own log goes; default discarded. */
  logFile?: string;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** argv prefix to run etcd under (e.g. nsenter into a network namespace). */
  wrapper?: string[];
  /** Serve clients over TLS with these files (etcd's --cert-file/--key-file/--trusted-ca-file) and require client certificates. */
  clientTls?: { certFile: string; keyFile: string; caFile: string };
  /**
   * A process group of its own: a terminal's Ctrl-C then reaches only the
   * parent, which stops etcd last (`coherd up`), instead of etcd going first
   * under the coordinator still freeing sessions. Default false.
   */
  ownProcessGroup?: boolean;
}

/**
 * A real etcd (Debian's etcd-server binary) on loopback, free ports and a
 * temp data dir. Used by `coherd up`, the test support and the benchmarks.
 */
export class EtcdProcess {
  readonly name: string;
  readonly dataDir: string;
  clientPort = 0;
  peerPort = 0;
  private child: ChildProcess | undefined;
  private readonly ownsDataDir: boolean;

  constructor(private readonly options: EtcdProcessOptions = {}) {
    this.name = options.name ?? 'coherd-etcd';
    this.ownsDataDir = !options.dataDir;
    this.dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-etcd-'));
  }

  get endpoint(): string {
    return `${this.options.clientTls ? 'https' : 'http'}://${this.options.host ?? '127.0.0.1'}:${this.clientPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    this.clientPort ||= this.options.clientPort ?? (await freePort());
    this.peerPort ||= this.options.peerPort ?? (await freePort());
    const peerUrl = `http://${this.options.host ?? '127.0.0.1'}:${this.peerPort}`;
    const args = [
      '--name', this.name,
      '--data-dir', this.dataDir,
      '--listen-client-urls', this.endpoint,
      '--advertise-client-urls', this.endpoint,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', this.options.initialCluster ?? `${this.name}=${peerUrl}`,
      '--initial-cluster-state', 'new',
      '--initial-cluster-token', `coherd-${process.pid}`,
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--logger', 'zap',
      '--log-outputs', this.options.logFile ? this.options.logFile : 'stderr',
    ];
    const t = this.options.clientTls;
    if (t) args.push('--cert-file', t.certFile, '--key-file', t.keyFile, '--trusted-ca-file', t.caFile, '--client-cert-auth');
    const out = 'ignore';
    const bin = process.env.COHERD_ETCD_BIN ?? 'etcd';
    const wrapper = this.options.wrapper ?? [];
    const spawnOptions: SpawnOptions = { stdio: ['ignore', out, out], detached: this.options.ownProcessGroup === true };
    this.child = wrapper.length ? spawn(wrapper[0], [...wrapper.slice(1), bin, ...args], spawnOptions) : spawn(bin, args, spawnOptions);
    const child = this.child;
    await new Promise<void>((resolve, reject) => {
      child.once('error', (e) => reject(new Error(`cannot start etcd: ${e.message} (is etcd-server installed?)`)));
      child.once('spawn', () => resolve());
    });
  }

  /** Resolves when etcd answers /health, or rejects after timeoutMs. */
  async waitHealthy(timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child && this.child.exitCode !== null) throw new Error(`etcd exited with ${this.child.exitCode}`);
      try {
        if ((await this.health()).health === 'true') return;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd at ${this.endpoint} not healthy within ${timeoutMs} ms`);
  }

  private async health(): Promise<{ health?: string }> {
    const t = this.options.clientTls;
    if (!t) {
      const res = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      return (await res.json()) as { health?: string };
    }
    return new Promise((resolve, reject) => {
      const req = https.get(`${this.endpoint}/health`, {
        ca: fs.readFileSync(t.caFile), cert: fs.readFileSync(t.certFile), key: fs.readFileSync(t.keyFile), timeout: 1000,
      }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
    });
  }

  /** SIGSTOP/SIGCONT for outage tests. */
  signal(sig: NodeJS.Signals): void {
    if (this.child?.pid) process.kill(this.child.pid, sig);
  }

  /** Stops the process; keeps the data dir unless removeData. */
  async stop(removeData = true): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    if (removeData && this.ownsDataDir) fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Starts a single-member etcd and waits until it is healthy. */
export async function startEtcd(options: EtcdProcessOptions = {}): Promise<EtcdProcess> {
  const etcd = new EtcdProcess(options);
  await etcd.start();
  try {
    await etcd.waitHealthy();
  } catch (e) {
    await etcd.stop();
    throw e;
  }
  return etcd;
}
