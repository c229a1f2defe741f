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

/** One timed step of P6; `needs` prepares what it reads (untimed) on a fresh target. */
interface Step {
  metric: string;
  /** MiB or files: the figure is amount per second. */
  amount: number;
  progress: string;
  run(dir: string): Promise<number>;
  /** Untimed set-up when the step runs on a fresh target (the file a read step reads). */
  needs?(dir: string): Promise<unknown>;
  /** Untimed clean-up after the step. */
  after?(dir: string): Promise<unknown>;
}

/**
 * P6's steps: sequential write then read of profile.sequentialMiB with each
 * block size (dd), and with 1 MiB blocks a re-read of the file; then
 * create+write+close of profile.smallFiles files, as many again in another
 * directory, a stat of each of the first, and a second stat of each.
 * Metrics are MiB/s and files/s; higher is better.
 */
function dataPathSteps(ctx: BenchContext): Step[] {
  const { profile, signal } = ctx;
  const totalBytes = profile.sequentialMiB * MiB;
  const seqFile = (dir: string) => path.join(dir, 'sequential.bin');
  const smallDir = (dir: string) => path.join(dir, 'small');
  const warmDir = (dir: string) => path.join(dir, 'small-warm');
  const steps: Step[] = [];
  for (const blockBytes of profile.blockSizes) {
    const o = { blockBytes, totalBytes, timeoutMs: profile.stepTimeoutMs, signal };
    const label = blockLabel(blockBytes);
    steps.push({
      metric: `seqWrite${label}MiBps`, amount: profile.sequentialMiB, progress: `dd write ${profile.sequentialMiB} MiB, ${label} blocks`,
      run: (dir) => ddWrite(seqFile(dir), o),
    });
    const removeSeqFile = (dir: string) => fs.promises.rm(seqFile(dir), { force: true });
    steps.push({
      metric: `seqRead${label}MiBps`, amount: profile.sequentialMiB, progress: `dd read ${profile.sequentialMiB} MiB, ${label} blocks`,
      run: (dir) => ddRead(seqFile(dir), o),
      needs: (dir) => ddWrite(seqFile(dir), { ...o, blockBytes: MiB }),
      after: blockBytes === MiB ? undefined : removeSeqFile,
    });
    if (blockBytes !== MiB) continue;
    // The same file read again: what a host that holds READ on it gets from the kernel's page cache (issue 11).
    steps.push({
      metric: `reRead${label}MiBps`, amount: profile.sequentialMiB, progress: `dd re-read ${profile.sequentialMiB} MiB, ${label} blocks`,
      run: (dir) => ddRead(seqFile(dir), o),
      needs: async (dir) => {
        await ddWrite(seqFile(dir), { ...o, blockBytes: MiB });
        await ddRead(seqFile(dir), o);
      },
      after: removeSeqFile,
    });
  }
  const n = profile.smallFiles;
  /** Makes `small` and creates+writes+closes n files in it; resolves with the elapsed ms. */
  const createIn = async (small: string): Promise<number> => {
    await fs.promises.mkdir(small);
    return runSmallFiles('create', small, n, profile.smallFileBytes, profile.stepTimeoutMs, signal);
  };
  steps.push({
    metric: 'createFilesPerSec', amount: n, progress: `create ${n} files`,
    run: (dir) => createIn(smallDir(dir)),
  });
  // n more in another directory of the same mount: a long-running agent's figure. The first n are also the
  // first creates its process ever served, through code V8 has not compiled yet (the plain passthrough runs
  // far less code per create, so it warms up sooner).
  steps.push({
    metric: 'createFilesPerSecWarm', amount: n, progress: `create ${n} more files`,
    run: (dir) => createIn(warmDir(dir)),
    needs: (dir) => createIn(smallDir(dir)),
  });
  steps.push({
    metric: 'statFilesPerSec', amount: n, progress: `stat ${n} files`,
    run: (dir) => runSmallFiles('stat', smallDir(dir), n, 0, profile.stepTimeoutMs, signal),
    needs: (dir) => createIn(smallDir(dir)),
  });
  // Each file stat'ed again: the host now holds their attr tokens (the first stat after a write must ask: a direct_io
  // write marks the kernel's size and mtime stale).
  steps.push({
    metric: 'reStatFilesPerSec', amount: n, progress: `stat ${n} files again`,
    run: (dir) => runSmallFiles('stat', smallDir(dir), n, 0, profile.stepTimeoutMs, signal),
    needs: async (dir) => {
      await createIn(smallDir(dir));
      return runSmallFiles('stat', smallDir(dir), n, 0, profile.stepTimeoutMs, signal);
    },
  });
  return steps;
}

/** A step failed; `index` says which, `timedOut` whether it ran out of time (the target may be stuck). */
class StepFailedError extends PartialMeasurementError {
  constructor(message: string, metrics: Metrics, readonly index: number, readonly timedOut: boolean, cause: unknown) {
    super(message, metrics, { cause });
  }
}

/**
 * Runs steps[from…] on `target`, adding their figures to `metrics`. A
 * step that times out records its figure as the bound the timeout proves
 * (amount ÷ step timeout: the real figure is lower) and
 * `<metric>TimedOut = 1`, so a target it misses shows as missed, not as
 * not measured; then (like any failing step) it ends this pass with a
 * StepFailedError.
 */
export async function measureDataPath(ctx: BenchContext, target: FsTarget, metrics: Metrics = {}, from = 0): Promise<Metrics> {
  const steps = dataPathSteps(ctx);
  for (let i = from; i < steps.length; i++) {
    const step = steps[i];
    if (i === from && step.needs) {
      try {
        await step.needs(target.dir);
      } catch (e) {
        if (e instanceof BenchAbortedError) throw e;
        throw new StepFailedError(`${step.metric} (set-up): ${(e as Error).message}`, metrics, i, false, e);
      }
    }
    ctx.progress(`  ${step.progress}`);
    try {
      metrics[step.metric] = perSecond(step.amount, await step.run(target.dir));
    } catch (e) {
      if (e instanceof BenchAbortedError) throw e;
      const timedOut = e instanceof StepTimeoutError;
      if (timedOut) {
        metrics[step.metric] = step.amount / (ctx.profile.stepTimeoutMs / 1000);
        metrics[`${step.metric}TimedOut`] = 1;
      }
      throw new StepFailedError(`${step.metric}: ${(e as Error).message}`, metrics, i, timedOut, e);
    }
    await step.after?.(target.dir);
    throwIfAborted(ctx.signal);
  }
  return metrics;
}

/**
 * Prepares the target in a fresh scratch dir, measures, always closes. A
 * step that times out may have left the target stuck (a hung FUSE daemon):
 * the target is closed, a fresh one prepared, and the remaining steps run
 * on it, so one hang does not hide every later figure. The run still
 * reports the failure (PartialMeasurementError with every error).
 */
async function measureSpec(ctx: BenchContext, spec: FsTargetSpec): Promise<Metrics> {
  const scratch = await fs.promises.mkdtemp(path.join(ctx.workDir, `p6-${spec.name}-`));
  const removeScratch = ctx.cleanup.add({
    name: `scratch ${scratch}`,
    run: () => fs.promises.rm(scratch, { recursive: true, force: true }),
    runSync: () => fs.rmSync(scratch, { recursive: true, force: true }),
  });
  const metrics: Metrics = {};
  const errors: string[] = [];
  try {
    for (let from = 0, attempt = 0; ; attempt++) {
      const attemptDir = path.join(scratch, `attempt-${attempt}`);
      await fs.promises.mkdir(attemptDir);
      const target = await spec.prepare(ctx, attemptDir);
      const close = ctx.cleanup.add({ name: `${spec.name} target`, run: () => target.close() });
      try {
        await measureDataPath(ctx, target, metrics, from);
        break;
      } catch (e) {
        if (!(e instanceof StepFailedError)) throw e;
        errors.push(e.message);
        if (!e.timedOut) break;
        from = e.index + 1;
        if (from >= dataPathSteps(ctx).length) break;
        ctx.progress(`  ${spec.name}: step timed out; continuing on a fresh target`);
      } finally {
        await close();
      }
    }
  } finally {
    await removeScratch();
  }
  if (errors.length) throw new PartialMeasurementError(errors.join('; '), metrics);
  return metrics;
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
