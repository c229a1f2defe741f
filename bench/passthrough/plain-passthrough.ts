import * as fs from 'node:fs';
import { fuseOptionsArgument } from './mount-options';
import { passthroughOps } from './passthrough-ops';

/**
 * A plain fuse-native passthrough filesystem: the baseline coherd's FUSE
 * data path is compared with. It runs as its own process (started by
 * passthrough-process.ts) because the process serving a mount must never
 * make file calls into it; this process never touches its mount point.
 *
 *   node plain-passthrough.js <backingDir> <mountPoint>
 *
 * Sends {ready: true} over IPC once mounted; unmounts and exits on
 * SIGTERM, SIGINT, an IPC 'stop' message, or when its parent goes away.
 */

interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  _fuseOptions(): string;
}
type FuseConstructor = new (mnt: string, ops: object, opts: object) => FuseInstance;

export const FSNAME = 'coherd-bench-passthrough';

/** Mounts backingDir at mountPoint; the caller owns unmounting. */
export function mountPassthrough(backingDir: string, mountPoint: string): Promise<FuseInstance> {
  // Loaded lazily: fuse-native is an optional dependency.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Fuse = require('fuse-native') as FuseConstructor;
  // The ops never wait on anything but the backing disk; keep fuse-native's default per-op timeout.
  const fuse = new Fuse(mountPoint, passthroughOps(backingDir), { mkdir: false, force: false });
  const options = fuseOptionsArgument(FSNAME);
  fuse._fuseOptions = () => options;
  return new Promise((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve(fuse))));
}

function main(argv: string[]): void {
  const [backingDir, mountPoint] = argv;
  if (!backingDir || !mountPoint) {
    process.stderr.write('usage: plain-passthrough <backingDir> <mountPoint>\n');
    process.exit(2);
  }
  if (!fs.statSync(backingDir).isDirectory()) throw new Error(`${backingDir} is not a directory`);

  let fuse: FuseInstance | undefined;
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    const exit = () => process.exit(code);
    if (!fuse) return exit();
    setTimeout(exit, 5000).unref();
    fuse.unmount(() => exit());
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  process.on('disconnect', () => stop(0));
  process.on('message', (m) => {
    if (m === 'stop') stop(0);
  });

  mountPassthrough(backingDir, mountPoint).then(
    (mounted) => {
      fuse = mounted;
      process.send?.({ ready: true });
    },
    (err: Error) => {
      process.stderr.write(`plain-passthrough: mount failed: ${err.message}\n`);
      process.exit(1);
    },
  );
}

if (require.main === module) main(process.argv.slice(2));
