import { coherdLockSystem, coherdPipelinedLockSystem } from './coherd/coherd-lock-system';
import { coherdMount } from './coherd/coherd-mount';
import { coherdExtraCases } from './coherd/extra-cases';
import type { FsTarget } from './fs-target';
import type { LockSystem } from './lock-system';
import type { BenchCase, BenchContext } from './types';

/**
 * Where coherd plugs into the harness. Each entry is optional: what is
 * missing shows as "not measured" in RESULTS.md, and the baselines are
 * measured regardless.
 */
export interface CoherdPlugins {
  /**
   * P1–P3: a fresh coherd (coordinator on port 0 against ctx.etcdEndpoint)
   * as a LockSystem; connect() opens one CoherdClient per contender and
   * acquire(key) takes an EXCLUSIVE lock on resource `key`.
   */
  lockSystem?: (ctx: BenchContext) => Promise<LockSystem>;
  /**
   * P3 only, measured besides `lockSystem` as subject 'coherd-pipelined':
   * the same service, but release() returns at once and the release rides
   * on the contender's next acquire (DESIGN §3.5 early release).
   */
  pipelinedLockSystem?: (ctx: BenchContext) => Promise<LockSystem>;
  /**
   * P6: a coherd mount over `backingDir` at `mountPoint` (both empty dirs
   * made for this measurement). Serve the mount from another process than
   * this one. close() must unmount (forceUnmount in passthrough/unmount.ts).
   */
  mount?: (ctx: BenchContext, backingDir: string, mountPoint: string, options?: { pageCache?: boolean }) => Promise<FsTarget>;
  /**
   * Cases with no baseline (P4 re-acquire of a held token, P5 revoke round
   * trip, P7 failover, P8 scale). Their coherd subject must be named
   * 'coherd' and report the metrics named in targets.ts.
   */
  extraCases?: (ctx: BenchContext) => BenchCase[];
}

/** coherd in every case: P1–P3 lock systems, the P6 mount, P4/P5/P7/P8. */
export const coherdPlugins: CoherdPlugins = {
  lockSystem: coherdLockSystem,
  pipelinedLockSystem: coherdPipelinedLockSystem,
  mount: coherdMount,
  extraCases: coherdExtraCases,
};
