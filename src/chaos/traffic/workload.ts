import { Logger } from '../../common/logger';
import { ChaosCluster } from '../cluster/chaos-cluster';
import { Recorder } from '../history/recorder';
import { SeededRandom } from '../seeded-random';

export interface WorkloadContext {
  cluster: ChaosCluster;
  rec: Recorder;
  rnd: SeededRandom;
  logger: Logger;
  /** false once the run is stopping: loops finish their current operation and return. */
  running(): boolean;
  /** An operation not answered by then is ambiguous ('info'). */
  opTimeoutMs: number;
  /** Upper bound of operations per process. */
  maxOpsPerProcess: number;
  ttlMs: number;
}

/** A traffic generator: processes that loop while the run lasts, then (after agents stopped) final reads of the backing store. */
export interface Workload {
  readonly name: string;
  /** Before the traffic starts: create its files in the backing directory (no agent has looked at them yet). */
  prepare?(ctx: WorkloadContext): Promise<void>;
  run(ctx: WorkloadContext): Promise<void>;
  finish?(ctx: WorkloadContext): Promise<void>;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Errors after which a file call certainly did nothing (ENOENT: also the mount was gone, data/ exists only through it). */
export const DEFINITE_FAILURES = new Set(['ENOENT', 'EEXIST', 'ENOTDIR', 'EISDIR', 'EINVAL']);
