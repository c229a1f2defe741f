import { ChildProcess, spawn } from 'child_process';
import { existsSync } from 'fs';
import * as nodePath from 'path';
import { createInterface } from 'readline';
import type { Logger } from '../../../common/logger';
import { FENCE_NEVER_NS, FenceStateFile } from './fence-state-file';

/** The fence fires this long before the lease deadline (as attribute timeouts stop: kernel-cache.ts LEASE_MARGIN_MS). */
export const FENCE_MARGIN_MS = 100;
/** How often the agent writes its deadline (a late write only makes the fence's deadline earlier). */
export const FENCE_REFRESH_MS = 50;
/** An orderly stop waits this long for the fence to exit, then kills it. */
const STOP_WAIT_MS = 2000;

export interface CacheFenceOptions {
  /** The session's /dev/fuse descriptor (FuseSession.fd). */
  sessionFd: number;
  /** Milliseconds left before this host's lease deadline (KernelCacheLink.leaseLeftMs). */
  leaseLeftMs: () => number;
  logger: Logger;
  /** The executable (default: build/Release/coherd_fence, searched upwards). */
  binary?: string;
}

/** What the page cache asks of the fence: which nodes' pages the kernel may cache. */
export interface NodeFence {
  /** `node` gets a cached open; false: the fence cannot cover it (full, or not running), answer direct_io. */
  hold(node: number): boolean;
  /** One cached open of `node` was released. */
  release(node: number): void;
}

/** Finds build/Release/<name> upwards from this file (dist/src/agent/fuse/fence in a build). */
export function fenceBinary(name = 'coherd_fence'): string {
  let dir = __dirname;
  for (let i = 0; i < 7; i++) {
    const candidate = nodePath.join(dir, 'build', 'Release', name);
    if (existsSync(candidate)) return candidate;
    dir = nodePath.dirname(dir);
  }
  throw new Error(`${name} not built: run \`npm run build:native\``);
}

/**
 * The kernel page cache's fence (docs/fuse.md, "The cache fence"): the
 * coherd_fence process, started with a copy of the session's /dev/fuse
 * descriptor and the state file, in its own process group (a signal to
 * the agent's pid or group does not stop it). It drops the listed nodes'
 * pages once the deadline written here passes without a refresh. It exits
 * when stop() closes its stdin, when this process dies (parent-death
 * signal, EOF) and when the connection goes away. Real time on purpose,
 * not the injected Clock: the fence process compares the deadline with
 * CLOCK_MONOTONIC, which process.hrtime and performance.now() read.
 */
export class CacheFence implements NodeFence {
  private readonly child: ChildProcess;
  private readonly state: FenceStateFile;
  private readonly timer: NodeJS.Timeout;
  private readonly exited: Promise<void>;
  private running = true;
  private stopping = false;

  constructor(private readonly o: CacheFenceOptions) {
    const stateFd = FenceStateFile.createFd();
    try {
      this.state = FenceStateFile.onFd(stateFd);
      this.refresh();
      this.child = spawn(o.binary ?? fenceBinary(), [String(process.pid)], {
        stdio: ['pipe', 'ignore', 'pipe', o.sessionFd, stateFd],
        detached: true,
      });
    } catch (e) {
      FenceStateFile.closeFd(stateFd);
      throw e;
    }
    const log = o.logger.child({ component: 'cache-fence' });
    this.exited = new Promise((resolve) => {
      let done = false;
      const finish = (how: Record<string, unknown>): void => {
        if (done) return;
        done = true;
        this.running = false;
        clearInterval(this.timer);
        FenceStateFile.closeFd(stateFd);
        if (!this.stopping) log.error('cache fence exited; no open is cached from now on', how);
        resolve();
      };
      this.child.once('exit', (code, signal) => finish({ code, signal }));
      // A spawn that failed (no pid) emits 'error' and never 'exit'.
      this.child.on('error', (e) => (this.child.pid === undefined ? finish({ error: e.message }) : log.error('cache fence failed', { error: e.message })));
    });
    this.child.stdin?.on('error', () => undefined); // EPIPE once it exited: 'exit' reports that
    createInterface({ input: this.child.stderr! }).on('line', (line) => logFenceLine(log, line));
    this.timer = setInterval(() => this.refresh(), FENCE_REFRESH_MS).unref();
    log.info('cache fence started', { pid: this.child.pid });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.running && !this.stopping;
  }

  hold(node: number): boolean {
    return this.alive && this.state.add(node);
  }

  release(node: number): void {
    if (this.running) this.state.remove(node);
  }

  /** Writes the lease deadline (less the margin) as CLOCK_MONOTONIC ns, when it moved by a millisecond or more. */
  refresh(): void {
    if (this.stopping) return;
    const leftMs = this.o.leaseLeftMs() - FENCE_MARGIN_MS;
    const ns = leftMs === Number.POSITIVE_INFINITY ? FENCE_NEVER_NS
      : Number.isFinite(leftMs) ? process.hrtime.bigint() + BigInt(Math.trunc(leftMs * 1e6)) : 0n;
    const moved = ns - this.state.deadline;
    if (ns === FENCE_NEVER_NS || moved >= 1_000_000n || moved <= -1_000_000n) this.state.setDeadline(ns);
  }

  /** Stops the fence (before the mount goes: it must never hold the connection alone). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    if (!this.running) return this.exited;
    this.child.stdin?.end('q'); // an orderly stop; EOF alone means this process died (fence-main.c)
    const killer = setTimeout(() => {
      if (this.running) this.child.kill('SIGKILL'); // by pid: the fence has a process group of its own
    }, STOP_WAIT_MS);
    await this.exited;
    clearTimeout(killer);
  }
}

/** "fence fired nodes=3 late_ms=0" → a warning with { nodes: 3, late_ms: 0 } (fixed texts from fence-*.c). */
function logFenceLine(log: Logger, line: string): void {
  const meta: Record<string, number | string> = {};
  const words = line.trim().split(/\s+/);
  const text = words.filter((w) => !w.includes('=')).join(' ');
  for (const w of words.filter((x) => x.includes('='))) {
    const [k, v] = [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)];
    meta[k] = /^-?\d+$/.test(v) ? Number(v) : v;
  }
  if (text === 'fence fired') log.warn('cache fence fired: the lease deadline passed without a refresh; every cached page was dropped', meta);
  else log.warn('cache fence reported', { line: text, ...meta });
}
