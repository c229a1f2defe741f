import type { BenchContext, SubjectRole } from './types';

/**
 * What the FUSE data-path case (P6) measures: a directory to do file I/O
 * in, backed by something — the backing directory itself, a plain
 * passthrough mount, or a coherd mount.
 */
export interface FsTarget {
  /** Where the workload creates its files (an empty directory). */
  dir: string;
  /** Unmounts / stops what prepare() started and removes the files. */
  close(): Promise<void>;
}

export interface FsTargetSpec {
  /** Subject name in the results: 'direct', 'plain-passthrough', 'coherd'. */
  name: string;
  role: SubjectRole;
  /**
   * Sets up a fresh target. `scratchDir` is an empty directory of this
   * measurement (inside the benchmark's temp dir) for backing and mount
   * point directories.
   */
  prepare(ctx: BenchContext, scratchDir: string): Promise<FsTarget>;
}
