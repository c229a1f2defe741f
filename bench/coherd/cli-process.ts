import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasExited, waitExit } from '../child-exit';
import type { Cleanup } from '../cleanup';

/** The compiled coherd CLI (dist/src/cli/main.js), next to dist/bench/. */
export function coherdCliPath(): string {
  const cli = path.resolve(__dirname, '..', '..', 'src', 'cli', 'main.js');
  if (!fs.existsSync(cli)) throw new Error(`${cli} not found: run npm run build first`);
  return cli;
}

/** How long a child gets after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5000;

export interface CliProcess {
  pid: number;
  child: ChildProcess;
  /** The first match of the ready pattern on stdout. */
  ready: RegExpExecArray;
  /** SIGTERM, then SIGKILL after a grace period; idempotent. */
  stop(): Promise<void>;
  /** kill -9, and wait for the exit. */
  kill9(): Promise<void>;
  exited(): boolean;
}

export interface CliProcessOptions {
  /** CLI arguments after `main.js`. */
  args: string[];
  /** Printed on stdout once the process is ready. */
  readyPattern: RegExp;
  readyTimeoutMs: number;
  cleanup: Cleanup;
  /** Name of the cleanup step. */
  name: string;
  /** Extra node flags, e.g. --cpu-prof (COHERD_BENCH_NODE_FLAGS adds more). */
  nodeFlags?: string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs `node dist/src/cli/main.js …` (a coordinator or an agent) as a child
 * process, waits for its ready line, and registers its teardown so an error
 * or SIGINT still stops it. Logs at warn unless COHERD_BENCH_LOG says more.
 */
export async function startCliProcess(o: CliProcessOptions): Promise<CliProcess> {
  const extraFlags = (process.env.COHERD_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...(o.nodeFlags ?? []), ...extraFlags, coherdCliPath(), ...o.args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, COHERD_LOG_LEVEL: process.env.COHERD_BENCH_LOG ?? 'warn', ...o.env },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
    if (process.env.COHERD_BENCH_LOG) process.stderr.write(d);
  });
  const stopChild = async (signal: NodeJS.Signals) => {
    if (hasExited(child)) return;
    child.kill(signal);
    if (!(await waitExit(child, STOP_GRACE_MS))) {
      child.kill('SIGKILL');
      await waitExit(child, STOP_GRACE_MS);
    }
  };
  const stop = o.cleanup.add({
    name: o.name,
    run: () => stopChild('SIGTERM'),
    runSync: () => {
      if (!hasExited(child)) child.kill('SIGKILL');
    },
  });
  let ready: RegExpExecArray;
  try {
    ready = await new Promise<RegExpExecArray>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${o.name} not ready within ${o.readyTimeoutMs} ms: ${stderr.trim()}`)), o.readyTimeoutMs);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = o.readyPattern.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`${o.name} exited (${code ?? sig}) before it was ready: ${stderr.trim()}`));
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    pid: child.pid ?? -1,
    child,
    ready,
    stop,
    kill9: async () => {
      if (hasExited(child)) return;
      child.kill('SIGKILL');
      await waitExit(child, STOP_GRACE_MS);
    },
    exited: () => hasExited(child),
  };
}

export interface CoordinatorProcessOptions {
  etcdEndpoints: string[];
  /** HOST:PORT; default 127.0.0.1:0. */
  listen?: string;
  /** etcd key prefix; default a fresh one per coordinator, so no leftover session of an earlier measurement is waited for. */
  prefix?: string;
  /** More CLI flags, e.g. ['--leader-ttl', '2']. */
  extraArgs?: string[];
  cleanup: Cleanup;
  nodeFlags?: string[];
}

export interface CoordinatorProcess extends CliProcess {
  address: string;
}

/** `coherd coordinator` in its own process; resolves once it listens. */
export async function startCoordinatorProcess(o: CoordinatorProcessOptions): Promise<CoordinatorProcess> {
  const listen = o.listen ?? '127.0.0.1:0';
  const p = await startCliProcess({
    args: ['coordinator', '--etcd', o.etcdEndpoints.join(','), '--listen', listen, '--prefix', o.prefix ?? freshPrefix(), ...(o.extraArgs ?? [])],
    readyPattern: /coherd coordinator listening on (\S+)/,
    readyTimeoutMs: 30_000,
    cleanup: o.cleanup,
    name: `coordinator ${listen}`,
    nodeFlags: o.nodeFlags,
  });
  return { ...p, address: p.ready[1] };
}

/** An etcd key prefix of its own for one benchmark coordinator (or group of them). */
export function freshPrefix(): string {
  return `/coherd-bench-${randomBytes(4).toString('hex')}/`;
}

/** CPU time (user + system) a process has used, in µs, from /proc/PID/stat (USER_HZ = 100 on Linux). */
export function cpuMicros(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** VmRSS of a process in MiB, from /proc/PID/status. */
export function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}
