import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { EtcdProcess, startEtcd } from './etcd';

/** The compiled CLI, so tests run real processes. */
export const CLI = path.resolve(__dirname, '../../src/cli/main.js');

export interface CoordinatorProcess {
  address: string;
  child: ChildProcess;
  /** Everything the coordinator logged (warnings and errors at the default test level). */
  log(): string;
  stop(): Promise<void>;
}

/** Starts `coherd coordinator` as a child process on a free port (under `wrapper`, an argv prefix, if given); resolves once it listens. */
export function spawnCoordinator(etcdEndpoint: string, extraArgs: string[] = [], listen = '127.0.0.1:0', wrapper: string[] = []): Promise<CoordinatorProcess> {
  const argv = [...wrapper, process.execPath, CLI, 'coordinator', '--etcd', etcdEndpoint, '--listen', listen, ...extraArgs];
  return startCoordinatorProcess(argv, { COHERD_LOG_LEVEL: process.env.COHERD_TEST_LOG_LEVEL ?? 'warn' });
}

/** Runs a coordinator command line; resolves once it prints the address it listens on, with its log kept. */
export async function startCoordinatorProcess(argv: string[], env: NodeJS.ProcessEnv): Promise<CoordinatorProcess> {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; if (process.env.COHERD_TEST_VERBOSE) process.stderr.write(d); });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`coordinator did not start: ${stderr}`)), 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`coordinator exited ${code}: ${stderr}`)); });
  });
  return { address, child, log: () => stderr, stop: () => stopChild(child) };
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export interface TestCluster {
  etcd: EtcdProcess;
  coordinator: CoordinatorProcess;
  stop(): Promise<void>;
}

export async function startCluster(coordinatorArgs: string[] = []): Promise<TestCluster> {
  const etcd = await startEtcd();
  try {
    const coordinator = await spawnCoordinator(etcd.endpoint, coordinatorArgs);
    return { etcd, coordinator, stop: async () => { await coordinator.stop(); await etcd.stop(); } };
  } catch (e) {
    await etcd.stop();
    throw e;
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the coherd CLI to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CliResult> {
  const child = spawnCli(args, env);
  return collect(child, timeoutMs);
}

/** `ownProcessGroup`: the CLI leads a process group, as a shell's foreground job does (a terminal's Ctrl-C signals the group). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, ownProcessGroup = false): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, COHERD_LOG_LEVEL: 'warn', ...env }, detached: ownProcessGroup });
}

export function collect(child: ChildProcess, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`timed out: ${stderr}`)); }, timeoutMs);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}
