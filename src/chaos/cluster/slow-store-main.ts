import * as fs from 'node:fs';
import { createLogger } from '../../common/logger';
import { FuseSession } from '../../agent/fuse/ll/fuse-session';
import { LowLevelOps } from '../../agent/fuse/ll/low-level-ops';
import { buildMountOptions } from '../../agent/fuse/ll/mount-options';
import { O_PATH, PassthroughCore, afs } from '../../agent/fuse/ll/passthrough/passthrough-core';
import { passthroughOps } from '../../agent/fuse/ll/passthrough/passthrough-fs';

/** Ops that only drop references or handles: never delayed (the kernel does not wait on forget). */
const UNDELAYED = new Set(['forget', 'forgetMulti', 'release', 'releasedir', 'destroy', 'init']);

/**
 * `node slow-store-main.js STORE MOUNT`, forked by SlowStore: the agents'
 * backing directory as a passthrough (the project's libfuse3 addon, as the
 * bench's plain passthrough) of the real store, with no kernel caching of
 * its own, whose every request can be delayed. IPC: {delayMs} sets the delay
 * (0 = none) and is answered with {delayMs, delayed} (requests delayed so
 * far); 'stop' unmounts and exits, as do SIGTERM and the parent going away.
 * This process never touches its own mount.
 */
async function main(): Promise<void> {
  const [store, mountPoint] = process.argv.slice(2);
  if (!store || !mountPoint || !fs.statSync(store).isDirectory()) {
    process.stderr.write('usage: slow-store-main STORE MOUNT\n');
    process.exit(2);
  }
  let delayMs = 0;
  let delayed = 0;
  const rootFd = await afs.open(store, O_PATH | fs.constants.O_DIRECTORY);
  const st = await afs.fstat(rootFd);
  const core = new PassthroughCore(rootFd, `${st.dev}:${st.ino}`, { attrTimeout: 0, entryTimeout: 0, keepCache: false });
  const plain = passthroughOps(core) as Record<string, unknown>;
  const ops: Record<string, unknown> = {};
  for (const [name, op] of Object.entries(plain)) {
    if (typeof op !== 'function' || UNDELAYED.has(name)) { ops[name] = op; continue; }
    ops[name] = async (...args: unknown[]) => {
      const d = delayMs;
      if (d > 0) {
        delayed++;
        await new Promise((r) => setTimeout(r, d));
      }
      return (op as (...a: unknown[]) => unknown)(...args);
    };
  }
  const logger = createLogger({ level: 'warn', json: false });
  const session = new FuseSession({ mountPoint, options: buildMountOptions({ fsName: 'coherd-chaos-store', allowOther: false }), ops: ops as LowLevelOps, logger, locks: false });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 5000).unref();
    session.unmount().then(() => process.exit(0), () => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('disconnect', stop);
  process.on('message', (m: unknown) => {
    if (m === 'stop') return stop();
    const d = (m as { delayMs?: unknown })?.delayMs;
    if (typeof d === 'number' && Number.isFinite(d) && d >= 0) delayMs = d;
    process.send?.({ delayMs, delayed });
  });
  process.send?.({ ready: true });
}

main().catch((e: Error) => {
  process.stderr.write(`slow store: ${e.message}\n`);
  process.exit(1);
});
