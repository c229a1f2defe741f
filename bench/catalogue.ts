import * as fs from 'node:fs';
import * as path from 'node:path';
import { etcd3NpmLockSpec } from './baselines/etcd3-npm-lock';
import { etcdV3LockSpec } from './baselines/etcd-v3lock';
import { directSpec, existingMountSpec, fuseDataPathCase, plainPassthroughSpec } from './cases/fuse-data-path';
import { contendedCase } from './cases/lock-contended';
import { pipelinedCase } from './cases/lock-pipelined';
import { uncontendedCase } from './cases/lock-uncontended';
import { COHERD, COHERD_DIRECT_IO, COHERD_PIPELINED } from './compare';
import type { FsTargetSpec } from './fs-target';
import type { LockSystemSpec } from './lock-system';
import type { CoherdPlugins } from './plugins';
import type { BenchCase, BenchContext } from './types';

export interface CatalogueOptions {
  plugins: CoherdPlugins;
  /** `--mount DIR`: measure an already mounted coherd filesystem in P6. */
  coherdMountDir?: string;
  /** `--only P1,P2`: case ids to keep (all if undefined). */
  only?: string[];
}

/** Every case of this run with its subjects, coherd first where plugged in. */
export function buildCases(ctx: BenchContext, options: CatalogueOptions): BenchCase[] {
  const { plugins } = options;
  const lockSpecs: LockSystemSpec[] = [etcdV3LockSpec, etcd3NpmLockSpec];
  if (plugins.lockSystem) lockSpecs.unshift({ name: COHERD, role: 'coherd', create: plugins.lockSystem });
  const pipelinedSpecs = [...lockSpecs];
  if (plugins.pipelinedLockSystem) pipelinedSpecs.unshift({ name: COHERD_PIPELINED, role: 'coherd', create: plugins.pipelinedLockSystem });

  const fsSpecs: FsTargetSpec[] = [directSpec, plainPassthroughSpec];
  if (options.coherdMountDir) {
    fsSpecs.unshift(existingMountSpec(COHERD, options.coherdMountDir));
  } else if (plugins.mount) {
    const mount = plugins.mount;
    const mountSpec = (name: string, pageCache: boolean): FsTargetSpec => ({
      name,
      role: pageCache ? 'coherd' : 'reference',
      async prepare(c, scratch) {
        const backing = path.join(scratch, 'backing');
        const mountPoint = path.join(scratch, 'mnt');
        await fs.promises.mkdir(backing);
        await fs.promises.mkdir(mountPoint);
        return mount(c, backing, mountPoint, { pageCache });
      },
    });
    fsSpecs.unshift(mountSpec(COHERD, true), mountSpec(COHERD_DIRECT_IO, false));
  }

  const cases = [
    uncontendedCase(lockSpecs),
    contendedCase(lockSpecs),
    pipelinedCase(pipelinedSpecs),
    ...(plugins.extraCases?.(ctx) ?? []),
    fuseDataPathCase(fsSpecs),
  ].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  if (!options.only) return cases;
  const wanted = new Set(options.only.map((id) => id.trim().toUpperCase()));
  const unknown = [...wanted].filter((id) => !cases.some((c) => c.id === id));
  if (unknown.length) throw new RangeError(`unknown case(s) ${unknown.join(', ')}; known: ${cases.map((c) => c.id).join(', ')}`);
  return cases.filter((c) => wanted.has(c.id));
}
