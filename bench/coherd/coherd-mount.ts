import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FsTarget } from '../fs-target';
import { forceUnmount, forceUnmountSync } from '../passthrough/unmount';
import type { BenchContext } from '../types';
import { startCliProcess, startCoordinatorProcess } from './cli-process';

/** Mounting includes opening a session and the FUSE handshake. */
const MOUNT_TIMEOUT_MS = 30_000;

/**
 * P6: a coherd mount of `backingDir` at `mountPoint`, served by
 * `coherd agent` in its own process (the benchmark makes file calls into
 * the mount, so it must not serve it), against `coherd coordinator` in
 * another process. close() stops the agent (SIGTERM unmounts), makes sure
 * nothing is left mounted, then stops the coordinator.
 */
export async function coherdMount(ctx: BenchContext, backingDir: string, mountPoint: string, options: { pageCache?: boolean } = {}): Promise<FsTarget> {
  // A short path of its own: the agent's lock socket lives there, and a Unix socket path is limited to 107 bytes.
  const stateDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'coherd-p6-'));
  const removeState = () => fs.promises.rm(stateDir, { recursive: true, force: true });
  const coordinator = await startCoordinatorProcess({ etcdEndpoints: [ctx.etcdEndpoint], cleanup: ctx.cleanup });
  const unmount = ctx.cleanup.add({ name: `coherd mount ${mountPoint}`, run: () => forceUnmount(mountPoint), runSync: () => forceUnmountSync(mountPoint) });
  try {
    const agent = await startCliProcess({
      args: ['agent', '--coordinator', coordinator.address, '--backing', backingDir, '--mount', mountPoint, '--namespace', 'bench', '--state-dir', stateDir, '--kernel-page-cache', options.pageCache ? 'yes' : 'no'],
      readyPattern: /coherd agent mounted \S+ at /,
      readyTimeoutMs: MOUNT_TIMEOUT_MS,
      cleanup: ctx.cleanup,
      name: `coherd agent ${mountPoint}`,
    });
    return {
      dir: mountPoint,
      async close() {
        try {
          await agent.stop();
          await unmount();
        } finally {
          await coordinator.stop();
          await removeState();
        }
      },
    };
  } catch (e) {
    await unmount();
    await coordinator.stop();
    await removeState();
    throw e;
  }
}
