import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitExit } from '../child-exit';
import type { Cleanup } from '../cleanup';
import { forceUnmount, forceUnmountSync } from './unmount';

/** How long mounting may take before the child is killed. */
const READY_TIMEOUT_MS = 15_000;
/** How long the child gets to unmount and exit before SIGKILL. */
const STOP_GRACE_MS = 5_000;

export interface PassthroughMount {
  mountPoint: string;
  backingDir: string;
  pid: number;
  /** Unmounts and stops the child; idempotent, never leaves the mount behind. */
  stop(): Promise<void>;
}

/**
 * Runs plain-passthrough.js in a child process serving backingDir at
 * mountPoint (created if missing) and waits until it is mounted. Teardown
 * is registered with `cleanup` so that SIGINT or a crash still unmounts.
 */
export async function startPlainPassthrough(backingDir: string, mountPoint: string, cleanup: Cleanup): Promise<PassthroughMount> {
  fs.mkdirSync(mountPoint, { recursive: true });
  const script = path.join(__dirname, 'plain-passthrough.js');
  const child = fork(script, [backingDir, mountPoint], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });

  const stop = cleanup.add({
    name: `passthrough at ${mountPoint}`,
    run: async () => {
      if (child.connected) child.send('stop');
      else child.kill('SIGTERM');
      if (!(await waitExit(child, STOP_GRACE_MS))) {
        child.kill('SIGKILL');
        await waitExit(child, STOP_GRACE_MS);
      }
      await forceUnmount(mountPoint);
    },
    runSync: () => {
      child.kill('SIGKILL');
      forceUnmountSync(mountPoint);
    },
  });

  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`passthrough not mounted within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      child.once('message', (m: { ready?: boolean }) => {
        clearTimeout(timer);
        if (m?.ready) resolve();
        else reject(new Error(`unexpected message from passthrough: ${JSON.stringify(m)}`));
      });
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`passthrough exited (${code ?? sig}) before mounting: ${stderr.trim()}`));
      });
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { mountPoint, backingDir, pid: child.pid ?? -1, stop };
}
