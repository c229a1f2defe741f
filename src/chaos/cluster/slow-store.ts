import { ChildProcess, fork } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { silentLogger } from '../../common/logger';
import { forceUnmount } from '../../agent/fuse/stale-mount';

/**
 * The agents' backing directory served by a delaying passthrough
 * (slow-store-main.ts, its own process) over the real store directory, so
 * the slow-store fault can make every backing-store request slow for a
 * while. The harness reads the store itself, never through this mount.
 */
export class SlowStore {
  private child: ChildProcess | undefined;

  constructor(readonly storeDir: string, readonly mountPoint: string) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    await fsp.mkdir(this.mountPoint, { recursive: true });
    const child = fork(nodePath.join(__dirname, 'slow-store-main.js'), [this.storeDir, this.mountPoint], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr = (stderr + d).slice(-2000); });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('chaos: the slow store was not mounted within 15 s')), 15_000);
      child.once('message', () => { clearTimeout(timer); resolve(); });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`chaos: the slow store exited (${code}) before mounting: ${stderr.trim()}`)); });
    });
  }

  /** Delays every request by delayMs from now on (0: none); resolves with how many requests were delayed so far. */
  setDelay(delayMs: number): Promise<number> {
    const child = this.child;
    if (!child?.connected) return Promise.reject(new Error('chaos: the slow store is not running'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('chaos: the slow store did not answer')), 5000);
      child.once('message', (m: { delayed?: number }) => { clearTimeout(timer); resolve(m.delayed ?? 0); });
      child.send({ delayMs });
    });
  }

  /** Unmounts and stops the child (after the agents); never throws. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      if (child.connected) child.send('stop');
      else child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 6000);
      await exited;
      clearTimeout(timer);
    }
    await forceUnmount(this.mountPoint, silentLogger()).catch(() => undefined);
  }
}
