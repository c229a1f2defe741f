import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FsTarget, FsTargetSpec } from '../fs-target';
import { startPlainPassthrough } from '../passthrough/passthrough-process';
import { perSecond } from '../stats';
import { BenchAbortedError, PartialMeasurementError, StepTimeoutError, throwIfAborted } from '../timing';
import type { BenchCase, BenchContext, Metrics, Subject } from '../types';
import { ddRead, ddWrite } from '../workloads/dd';
import { runSmallFiles } from '../workloads/small-files';

const MiB = 1024 * 1024;

/** 'seqWrite1MiB', 'seqRead4KiB', … */
function blockLabel(bytes: number): string {
  return bytes % MiB === 0 ? `${bytes / MiB}MiB` : `${bytes / 1024}KiB`;
}

/**
 * P6: sequential write then read of profile.sequentialMiB with each block
 * size (dd), then create+write+close of profile.smallFiles files and a stat
 * of each. Metrics are MiB/s and files/s; higher is better.
 *
 * A step that fails ends the measurement with a PartialMeasurementError
 * that keeps the figures taken so far. A step that timed out also records
 * its figure as the bound the timeout proves (size ÷ step timeout: the
 * real figure is lower) and `<metric>TimedOut = 1`, so a target it misses
 * is reported as missed rather than as not measured.
 */
export async function measureDataPath(ctx: BenchContext, target: FsTarget): Promise<Metrics> {
  const { profile, signal } = ctx;
  const metrics: Metrics = {};
  const step = async (metric: string, amount: number, run: () => Promise<number>): Promise<void> => {
    try {
      metrics[metric] = perSecond(amount, await run());
    } catch (e) {
      if (e instanceof BenchAbortedError) throw e;
      if (e instanceof StepTimeoutError) {
        metrics[metric] = amount / (profile.stepTimeoutMs / 1000);
        metrics[`${metric}TimedOut`] = 1;
      }
      throw new PartialMeasurementError(`${metric}: ${(e as Error).message}`, metrics, { cause: e });
    }
    throwIfAborted(signal);
  };
  const totalBytes = profile.sequentialMiB * MiB;
  const seqFile = path.join(target.dir, 'sequential.bin');
  for (const blockBytes of profile.blockSizes) {
    const o = { blockBytes, totalBytes, timeoutMs: profile.stepTimeoutMs, signal };
    const label = blockLabel(blockBytes);
    ctx.progress(`  dd write ${profile.sequentialMiB} MiB, ${label} blocks`);
    await step(`seqWrite${label}MiBps`, profile.sequentialMiB, () => ddWrite(seqFile, o));
    ctx.progress(`  dd read ${profile.sequentialMiB} MiB, ${label} blocks`);
    await step(`seqRead${label}MiBps`, profile.sequentialMiB, () => ddRead(seqFile, o));
    await fs.promises.rm(seqFile, { force: true });
    throwIfAborted(signal);
  }
  const filesDir = path.join(target.dir, 'small');
  await fs.promises.mkdir(filesDir);
  const n = profile.smallFiles;
  ctx.progress(`  create ${n} files`);
  await step('createFilesPerSec', n, () => runSmallFiles('create', filesDir, n, profile.smallFileBytes, profile.stepTimeoutMs, signal));
  ctx.progress(`  stat ${n} files`);
  await step('statFilesPerSec', n, () => runSmallFiles('stat', filesDir, n, 0, profile.stepTimeoutMs, signal));
  return metrics;
}

/** Prepares the target in a fresh scratch dir, measures, always closes. */
async function measureSpec(ctx: BenchContext, spec: FsTargetSpec): Promise<Metrics> {
  const scratch = await fs.promises.mkdtemp(path.join(ctx.workDir, `p6-${spec.name}-`));
  const removeScratch = ctx.cleanup.add({
    name: `scratch ${scratch}`,
    run: () => fs.promises.rm(scratch, { recursive: true, force: true }),
    runSync: () => fs.rmSync(scratch, { recursive: true, force: true }),
  });
  try {
    const target = await spec.prepare(ctx, scratch);
    const close = ctx.cleanup.add({ name: `${spec.name} target`, run: () => target.close() });
    try {
      return await measureDataPath(ctx, target);
    } finally {
      await close();
    }
  } finally {
    await removeScratch();
  }
}

/** (a) the backing directory itself: what any FUSE layer costs on top of. */
export const directSpec: FsTargetSpec = {
  name: 'direct',
  role: 'reference',
  async prepare(_ctx, scratch) {
    const dir = path.join(scratch, 'backing');
    await fs.promises.mkdir(dir);
    return { dir, close: async () => {} };
  },
};

/** (b) the plain fuse-native passthrough with the agent's mount options. */
export const plainPassthroughSpec: FsTargetSpec = {
  name: 'plain-passthrough',
  role: 'baseline',
  async prepare(ctx, scratch) {
    const backing = path.join(scratch, 'backing');
    const mountPoint = path.join(scratch, 'mnt');
    await fs.promises.mkdir(backing);
    const mount = await startPlainPassthrough(backing, mountPoint, ctx.cleanup);
    return { dir: mountPoint, close: () => mount.stop() };
  },
};

/**
 * (c) a directory someone else mounted (e.g. a coherd mount started by
 * hand, `--mount DIR`): files go into a fresh subdirectory, removed after.
 */
export function existingMountSpec(name: string, mountDir: string): FsTargetSpec {
  return {
    name,
    role: name === 'coherd' ? 'coherd' : 'reference',
    async prepare() {
      const dir = await fs.promises.mkdtemp(path.join(mountDir, 'coherd-bench-'));
      return { dir, close: () => fs.promises.rm(dir, { recursive: true, force: true }) };
    },
  };
}

export function fuseDataPathCase(specs: FsTargetSpec[]): BenchCase {
  return {
    id: 'P6',
    title: 'FUSE data path: sequential MiB/s and small files/s',
    subjects: specs.map<Subject>((spec) => ({
      name: spec.name,
      role: spec.role,
      measure: (ctx) => measureSpec(ctx, spec),
    })),
  };
}
