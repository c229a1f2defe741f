/**
 * A one-shot P6-style probe of the low-level addon's plain passthrough
 * against its backing directory: 1 MiB sequential write, first read and
 * cached re-read (MiB/s), small-file creates/s and stat/s. The mount is
 * served by a child process (never this one). Usage:
 *   node dist/bench/ll-passthrough-probe.js [sizeMiB=256] [files=2000]
 */
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { startLlMountChild } from '../test/support/ll-mount-child';

const MiB = 1 << 20;

async function measure(dir: string, sizeMiB: number, files: number): Promise<Record<string, number>> {
  const block = Buffer.alloc(MiB, 7);
  const file = nodePath.join(dir, 'seq.bin');
  const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
  let t = process.hrtime.bigint();
  const w = await fsp.open(file, 'w');
  for (let i = 0; i < sizeMiB; i++) await w.write(block, 0, MiB, i * MiB);
  await w.close();
  const writeMiBps = sizeMiB / secs(t);
  const readAll = async () => {
    const r = await fsp.open(file, 'r');
    const buf = Buffer.allocUnsafe(MiB);
    for (let i = 0; i < sizeMiB; i++) await r.read(buf, 0, MiB, i * MiB);
    await r.close();
  };
  t = process.hrtime.bigint();
  await readAll();
  const readMiBps = sizeMiB / secs(t);
  t = process.hrtime.bigint();
  await readAll();
  const rereadMiBps = sizeMiB / secs(t);
  await fsp.mkdir(nodePath.join(dir, 'small'));
  const small = Buffer.alloc(4096, 1);
  t = process.hrtime.bigint();
  for (let i = 0; i < files; i++) await fsp.writeFile(nodePath.join(dir, 'small', `f${i}`), small);
  const createsPerSec = files / secs(t);
  for (let i = 0; i < files; i++) await fsp.stat(nodePath.join(dir, 'small', `f${i}`));
  t = process.hrtime.bigint();
  for (let i = 0; i < files; i++) await fsp.stat(nodePath.join(dir, 'small', `f${i}`));
  const statPerSec = files / secs(t);
  await fsp.rm(nodePath.join(dir, 'small'), { recursive: true });
  await fsp.unlink(file);
  return { writeMiBps, readMiBps, rereadMiBps, createsPerSec, statPerSec };
}

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 256);
  const files = Number(process.argv[3] ?? 2000);
  const root = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-fuse-test-probe-'));
  const backingDir = nodePath.join(root, 'backing');
  const mountPoint = nodePath.join(root, 'mnt');
  await fsp.mkdir(backingDir);
  await fsp.mkdir(mountPoint);
  const child = await startLlMountChild({ backingDir, mountPoint });
  try {
    const backing = await measure(backingDir, sizeMiB, files);
    const mounted = await measure(mountPoint, sizeMiB, files);
    for (const k of Object.keys(backing)) {
      console.log(`${k.padEnd(14)} backing ${backing[k].toFixed(0).padStart(8)}  ll-passthrough ${mounted[k].toFixed(0).padStart(8)}  ratio ${(mounted[k] / backing[k]).toFixed(2)}`);
    }
  } finally {
    await child.stop();
    await fsp.rm(root, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
