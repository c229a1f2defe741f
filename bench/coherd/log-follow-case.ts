import * as fs from 'node:fs';
import * as path from 'node:path';
import { forceUnmount, forceUnmountSync } from '../passthrough/unmount';
import type { BenchCase, BenchContext, Metrics } from '../types';
import { COHERD, COHERD_DIRECT_IO } from '../compare';
import { measureLogFollow } from '../workloads/log-follow';
import { CliProcess, startCliProcess, startCoordinatorProcess } from './cli-process';

const MOUNT_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 300_000;

/** Records (writer alone, writer + follower) and alternation rounds: full and quick profiles. */
function sizes(ctx: BenchContext): { records: number; rounds: number } {
  return ctx.profile.name === 'quick' ? { records: 300, rounds: 100 } : { records: 5000, rounds: 2000 };
}

async function scratchDir(ctx: BenchContext, name: string): Promise<string> {
  const scratch = await fs.promises.mkdtemp(path.join(ctx.workDir, `p9-${name}-`));
  ctx.cleanup.add({ name: `scratch ${scratch}`, run: () => fs.promises.rm(scratch, { recursive: true, force: true }), runSync: () => fs.rmSync(scratch, { recursive: true, force: true }) });
  return scratch;
}

/** The backing directory itself, written and followed from the same directory: the floor. */
async function measureBacking(ctx: BenchContext): Promise<Metrics> {
  const scratch = await scratchDir(ctx, 'backing');
  const dir = path.join(scratch, 'backing');
  await fs.promises.mkdir(dir);
  return measureLogFollow({ writerDir: dir, followerDir: dir, scratch, ...sizes(ctx), timeoutMs: STEP_TIMEOUT_MS, signal: ctx.signal });
}

/** Two hosts: two `coherd agent` processes (own sessions, own mounts) over one backing directory and one coordinator. */
async function measureCoherd(ctx: BenchContext, pageCache: boolean): Promise<Metrics> {
  const scratch = await scratchDir(ctx, pageCache ? 'coherd' : 'coherd-dio');
  const backing = path.join(scratch, 'backing');
  await fs.promises.mkdir(backing);
  const coordinator = await startCoordinatorProcess({ etcdEndpoints: [ctx.etcdEndpoint], cleanup: ctx.cleanup });
  const agents: CliProcess[] = [];
  const mounts: string[] = [];
  try {
    for (const host of ['a', 'b']) {
      const mountPoint = path.join(scratch, `mnt-${host}`);
      const stateDir = path.join(scratch, `state-${host}`);
      await fs.promises.mkdir(mountPoint);
      await fs.promises.mkdir(stateDir);
      mounts.push(mountPoint);
      ctx.cleanup.add({ name: `coherd mount ${mountPoint}`, run: () => forceUnmount(mountPoint), runSync: () => forceUnmountSync(mountPoint) });
      agents.push(await startCliProcess({
        args: ['agent', '--coordinator', coordinator.address, '--backing', backing, '--mount', mountPoint, '--namespace', 'bench', '--state-dir', stateDir, '--kernel-page-cache', pageCache ? 'yes' : 'no'],
        readyPattern: /coherd agent mounted \S+ at /,
        readyTimeoutMs: MOUNT_TIMEOUT_MS,
        cleanup: ctx.cleanup,
        name: `coherd agent ${host}`,
      }));
    }
    return await measureLogFollow({ writerDir: mounts[0], followerDir: mounts[1], scratch, ...sizes(ctx), timeoutMs: STEP_TIMEOUT_MS, signal: ctx.signal });
  } finally {
    for (const a of agents) await a.stop();
    for (const m of mounts) await forceUnmount(m);
    await coordinator.stop();
  }
}

/**
 * P9 (issue 14): a log written on one host and followed on another, and
 * strict alternation between two hosts, on the backing directory and on
 * two coherd mounts of it. coherd's own ratio (writer + follower ÷ writer
 * alone) is computed run by run.
 */
export function logFollowCase(): BenchCase {
  return {
    id: 'P9',
    title: 'a log written on one host and followed on another; strict alternation (direct mode)',
    subjects: [
      { name: COHERD, role: 'coherd', measure: (ctx) => measureCoherd(ctx, true) },
      { name: COHERD_DIRECT_IO, role: 'reference', measure: (ctx) => measureCoherd(ctx, false) },
      { name: 'backing-dir', role: 'baseline', measure: measureBacking },
    ],
  };
}
