/**
 * A whole coherd cluster on one host for end-to-end tests: a real etcd, a
 * real coordinator process and N real agent processes (`coherd agent`),
 * each with its own FUSE mount and state dir, all over ONE temp backing
 * directory (the "shared storage"). This test process serves no mount:
 * file operations run in separate processes (`sh`, `dd`, `python3`).
 *
 * Cleanup never throws and leaves nothing behind: shell processes are
 * killed by process group, agents are continued (SIGCONT) and stopped by
 * pid (SIGTERM, SIGKILL after 5 s), every mount is force-unmounted
 * (fusermount -uz, fusectl abort fallback), then the coordinator and etcd
 * stop and the temp root is removed. If the test process exits without
 * stop(), an exit hook SIGKILLs every pid and detaches the mounts; the
 * root carries owner.pid, so `sweepLeftoverMounts()` also cleans up after
 * a test process that was killed outright.
 */
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { promises as fsp, rmSync } from 'node:fs';
import * as nodePath from 'node:path';
import { silentLogger } from '../../src/common/logger';
import { forceUnmount, readMountInfo } from '../../src/agent/fuse/stale-mount';
import { AgentProcess } from './agent-process';
import { CliResult, CoordinatorProcess, runCli, spawnCoordinator } from './cluster';
import { EtcdProcess, startEtcd } from './etcd';
import { eventually } from './eventually';
import { FILE_OPS_PY } from './file-ops-py';
import { FUSE_TEST_PREFIX, sweepLeftoverMounts } from './fuse-mount';
import { TcpProxy } from './tcp-proxy';

export interface AgentClusterOptions {
  /** Number of agents (mounts); default 2. */
  agents?: number;
  /** `--ttl` of every agent, in seconds; default the agent's own (10). */
  ttlSeconds?: number;
  /** `--namespace`; default "e2e". */
  namespace?: string;
  /** Extra `coherd agent` arguments. */
  agentArgs?: string[];
  /** Extra `coherd coordinator` arguments (TLS, metrics). */
  coordinatorArgs?: string[];
  /** Agents' COHERD_LOG_LEVEL; default $COHERD_TEST_LOG_LEVEL or "info" (session ids are read from the log). */
  agentLogLevel?: string;
  /** How long an agent may take to print its "mounted" line; default 20 s. */
  startTimeoutMs?: number;
  /** Agents (by index) that reach the coordinator through a TcpProxy (cluster.proxies[i]) a test can cut. */
  proxied?: number[];
}

/** A background `sh -c` (AgentCluster.spawnSh). */
export interface ShProcess {
  readonly child: ChildProcess;
  /** Exit status and all output; kills the process group and rejects after timeoutMs (default 30 s). */
  result(timeoutMs?: number): Promise<CliResult>;
  /** Signals the whole process group. */
  kill(signal?: NodeJS.Signals): void;
}

export interface ShOptions {
  /** Kill the command's process group and reject after this long; default 30 s. */
  timeoutMs?: number;
  /** Data for stdin. */
  input?: string | Buffer;
  /** Extra environment. */
  env?: NodeJS.ProcessEnv;
}

export class AgentCluster {
  readonly agents: AgentProcess[] = [];
  /** The fault proxy in front of the coordinator, for each agent listed in options.proxied. */
  readonly proxies = new Map<number, TcpProxy>();
  private readonly shells = new Set<ChildProcess>();
  private etcd: EtcdProcess | undefined;
  private coordinator: CoordinatorProcess | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly root: string,
    readonly backingDir: string,
    private readonly options: Required<Pick<AgentClusterOptions, 'namespace' | 'startTimeoutMs'>> & AgentClusterOptions,
  ) {}

  /** Starts etcd, a coordinator and the agents; on failure cleans up what it started and rethrows. */
  static async start(options: AgentClusterOptions = {}): Promise<AgentCluster> {
    await sweepLeftoverMounts();
    const root = await fsp.mkdtemp(FUSE_TEST_PREFIX);
    await fsp.writeFile(nodePath.join(root, 'owner.pid'), String(process.pid));
    const backingDir = nodePath.join(root, 'backing');
    await fsp.mkdir(backingDir);
    const cluster = new AgentCluster(root, backingDir, { namespace: 'e2e', startTimeoutMs: 20_000, ...options });
    liveClusters.add(cluster);
    try {
      await fsp.writeFile(cluster.py, FILE_OPS_PY);
      cluster.etcd = await startEtcd();
      cluster.coordinator = await spawnCoordinator(cluster.etcd.endpoint, options.coordinatorArgs ?? []);
      for (const i of options.proxied ?? []) {
        const [host, port] = cluster.coordinator.address.split(':');
        const proxy = new TcpProxy(host, Number(port));
        await proxy.start();
        cluster.proxies.set(i, proxy);
      }
      const n = options.agents ?? 2;
      for (let i = 0; i < n; i++) {
        const agent = new AgentProcess(i, nodePath.join(root, `mnt-${i}`), nodePath.join(root, `state-${i}`), nodePath.join(root, `agent-${i}.log`));
        await fsp.mkdir(agent.mountPoint);
        await fsp.mkdir(agent.stateDir);
        cluster.agents.push(agent);
      }
      await Promise.all(cluster.agents.map((a) => cluster.startAgent(a)));
      return cluster;
    } catch (e) {
      await cluster.stop();
      throw e;
    }
  }

  /** The coordinator's log so far (warnings and errors). */
  coordinatorLog(): string {
    return this.coordinator?.log() ?? '';
  }

  get etcdEndpoint(): string {
    if (!this.etcd) throw new Error('no etcd');
    return this.etcd.endpoint;
  }

  get coordinatorAddress(): string {
    if (!this.coordinator) throw new Error('no coordinator');
    return this.coordinator.address;
  }

  /** The file-ops helper script (see FILE_OPS_PY): `python3 ${cluster.py} <command> …`. */
  get py(): string {
    return nodePath.join(this.root, 'file-ops.py');
  }

  /** A path inside agent i's mount. */
  mnt(i: number, ...parts: string[]): string {
    return nodePath.join(this.agents[i].mountPoint, ...parts);
  }

  /** A path inside the shared backing directory (read it with async fs or a shell). */
  bak(...parts: string[]): string {
    return nodePath.join(this.backingDir, ...parts);
  }

  /** A path in the temp root, outside every mount (ready/go files, reference data). */
  tmp(...parts: string[]): string {
    return nodePath.join(this.root, ...parts);
  }

  /** Sends `signal` to agent i; SIGKILL/SIGTERM/SIGINT wait until it exited. Its mount is left as it is. */
  killAgent(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    return this.agents[i].signal(signal);
  }

  /** Stops agent i if it runs (SIGTERM), then starts it again on the same mount point and state dir (the agent clears a stale mount itself). */
  async restartAgent(i: number): Promise<void> {
    const agent = this.agents[i];
    if (agent.alive) await agent.signal('SIGTERM');
    await this.startAgent(agent);
  }

  /** Runs `coherd <args> --coordinator <this cluster's coordinator>`. */
  cli(args: string[], timeoutMs = 15_000): Promise<CliResult> {
    return runCli([...args, '--coordinator', this.coordinatorAddress], {}, timeoutMs);
  }

  /** Session ids the coordinator lists as live. */
  async liveSessions(): Promise<string[]> {
    const r = await this.cli(['sessions', '--json']);
    if (r.code !== 0) throw new Error(`coherd sessions failed (${r.code}): ${r.stderr}`);
    const parsed = JSON.parse(r.stdout) as { sessions?: Array<{ sessionId: string }> };
    return (parsed.sessions ?? []).map((s) => String(s.sessionId));
  }

  /** Runs `sh -c cmd` in its own process group; rejects on a non-zero exit (with stderr) or on timeout. */
  async sh(cmd: string, options: ShOptions = {}): Promise<string> {
    const r = await this.run(cmd, options);
    if (r.code !== 0) throw new Error(`sh exited ${r.code ?? r.signal}: ${cmd}\n${r.stderr}`);
    return r.stdout;
  }

  /** Like sh() but resolves with the exit status and output instead of rejecting on failure. */
  run(cmd: string, options: ShOptions = {}): Promise<CliResult> {
    return this.spawnSh(cmd, options).result(options.timeoutMs ?? 30_000);
  }

  /**
   * Starts `sh -c cmd` in the background, in its own process group, with
   * its output collected from the start; it is killed in stop() if still
   * running. Use for concurrent writers and long-lived readers.
   */
  spawnSh(cmd: string, options: Omit<ShOptions, 'timeoutMs'> = {}): ShProcess {
    const child = spawn('sh', ['-c', cmd], {
      cwd: this.root,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    this.shells.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input);
    const exited = new Promise<CliResult>((resolve) => {
      child.once('exit', (code, signal) => {
        this.shells.delete(child);
        // Let the pipes drain before reporting.
        setImmediate(() => resolve({ code, signal, stdout, stderr }));
      });
    });
    return {
      child,
      result: (timeoutMs = 30_000) => new Promise<CliResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          killGroup(child, 'SIGKILL');
          reject(new Error(`sh timed out after ${timeoutMs} ms: ${cmd}\n${stderr}`));
        }, timeoutMs);
        void exited.then((r) => {
          clearTimeout(timer);
          resolve(r);
        });
      }),
      kill: (signal = 'SIGKILL') => killGroup(child, signal),
    };
  }

  /** Stops everything this cluster started, in order; never throws. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async startAgent(agent: AgentProcess): Promise<void> {
    const args = [
      '--coordinator', this.proxies.get(agent.index)?.address ?? this.coordinatorAddress,
      '--backing', this.backingDir,
      '--mount', agent.mountPoint,
      '--namespace', this.options.namespace,
      '--state-dir', agent.stateDir,
      ...(this.options.ttlSeconds !== undefined ? ['--ttl', String(this.options.ttlSeconds)] : []),
      ...(this.options.agentArgs ?? []),
    ];
    const env = { ...process.env, COHERD_LOG_LEVEL: this.options.agentLogLevel ?? process.env.COHERD_TEST_LOG_LEVEL ?? 'info' };
    await agent.start(args, env, this.options.startTimeoutMs);
  }

  /**
   * Last resort when the test process exits without stop() (uncaught
   * error, process.exit): SIGKILL everything by pid and lazily detach the
   * mounts, synchronously.
   */
  killNow(): void {
    const pids = [
      ...this.agents.map((a) => a.child?.pid),
      this.coordinator?.child.pid,
      this.etcd?.pid,
    ];
    for (const child of this.shells) killGroup(child, 'SIGKILL');
    for (const pid of pids) {
      if (!pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const a of this.agents) {
      try {
        execFileSync('fusermount', ['-uz', a.mountPoint], { stdio: 'ignore', timeout: 5000 });
      } catch {
        /* not mounted */
      }
    }
    if (this.etcd) rmSync(this.etcd.dataDir, { recursive: true, force: true });
  }

  private async doStop(): Promise<void> {
    liveClusters.delete(this);
    const quietly = (p: Promise<unknown>) => p.catch((e: Error) => process.stderr.write(`agent-cluster cleanup: ${e.message}\n`));
    // Shells first (one blocked on a stopped agent dies once the agent is continued and answers),
    // then the agents (continued, SIGTERM: they flush and unmount), then whatever mount is left.
    for (const child of this.shells) killGroup(child, 'SIGKILL');
    await Promise.all(this.agents.map((a) => quietly(a.signal('SIGTERM'))));
    for (const a of this.agents) {
      await quietly(forceUnmount(a.mountPoint, silentLogger()));
      a.closeLog();
    }
    for (const p of this.proxies.values()) await quietly(p.stop());
    if (this.coordinator) await quietly(this.coordinator.stop());
    if (this.etcd) await quietly(this.etcd.stop());
    const leftover = (await readMountInfo().catch(() => [])).filter((m) => m.mountPoint.startsWith(this.root + '/'));
    if (leftover.length > 0 || process.env.COHERD_TEST_KEEP) {
      // Never recurse into a mount; the next run's sweepLeftoverMounts() detaches it.
      process.stderr.write(`agent-cluster: kept ${this.root}${leftover.length ? ` (still mounted: ${leftover.map((m) => m.mountPoint).join(', ')})` : ''}\n`);
      return;
    }
    await quietly(removeTree(this.root));
  }
}

/**
 * Removes a directory tree. fs.rm gives up on names deeper than PATH_MAX
 * (tests make them on purpose); rm(1) walks them one directory at a time.
 */
async function removeTree(root: string): Promise<void> {
  try {
    await fsp.rm(root, { recursive: true, force: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') throw e;
    await new Promise<void>((resolve, reject) => {
      execFile('rm', ['-rf', '--one-file-system', root], (err) => (err ? reject(err) : resolve()));
    });
  }
}

const liveClusters = new Set<AgentCluster>();
process.once('exit', () => {
  for (const c of liveClusters) c.killNow();
});

/** Kills a detached child's whole process group (sh and what it started). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

/** Resolves when `path` (outside any mount) exists, or rejects after timeoutMs. */
export async function waitForFile(path: string, timeoutMs = 10_000, pollMs = 20): Promise<void> {
  await eventually(() => fsp.access(path), timeoutMs, pollMs);
}
