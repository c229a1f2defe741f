import * as fs from 'node:fs';
import { createLogger } from '../../src/common/logger';
import { PassthroughMount, mountPassthrough } from '../../src/agent/fuse/ll/passthrough/passthrough-fs';

/**
 * The plain passthrough on coherd's libfuse3 low-level addon
 * (src/agent/fuse/ll/passthrough: inode-based, kernel cache with 1 s
 * timeouts and keep_cache, no coherency hooks): the baseline coherd's FUSE
 * data path is compared with. It runs as its own process (started by
 * passthrough-process.ts) because the process serving a mount must never
 * make file calls into it; this process never touches its mount point.
 *
 *   node plain-passthrough.js <backingDir> <mountPoint>
 *
 * Sends {ready: true} over IPC once mounted; unmounts and exits on
 * SIGTERM, SIGINT, an IPC 'stop' message, or when its parent goes away.
 */
function main(argv: string[]): void {
  const [backingDir, mountPoint] = argv;
  if (!backingDir || !mountPoint) {
    process.stderr.write('usage: plain-passthrough <backingDir> <mountPoint>\n');
    process.exit(2);
  }
  if (!fs.statSync(backingDir).isDirectory()) throw new Error(`${backingDir} is not a directory`);

  let mount: PassthroughMount | undefined;
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    const exit = () => process.exit(code);
    if (!mount) return exit();
    setTimeout(exit, 5000).unref();
    mount.unmount().then(exit, exit);
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  process.on('disconnect', () => stop(0));
  process.on('message', (m) => {
    if (m === 'stop') stop(0);
  });

  const logger = createLogger({ level: 'warn', json: false });
  mountPassthrough({ backingDir, mountPoint, logger, allowOther: false }).then(
    (mounted) => {
      mount = mounted;
      process.send?.({ ready: true });
    },
    (err: Error) => {
      process.stderr.write(`plain-passthrough: mount failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) main(process.argv.slice(2));
