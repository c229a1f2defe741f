import { Logger } from '../../common/logger';
import { ChaosCluster } from '../cluster/chaos-cluster';
import { Recorder } from '../history/recorder';
import { SeededRandom } from '../seeded-random';

export interface FaultContext {
  cluster: ChaosCluster;
  rec: Recorder;
  /** The schedule's generator: the same seed makes the same choices. */
  rnd: SeededRandom;
  logger: Logger;
  /** Session lease TTL of agents and lock clients. */
  ttlMs: number;
}

/**
 * One kind of fault: inject() records its window (start, end) on the
 * recorder, always undoes itself before it returns (heal, restart,
 * SIGCONT), and takes a bounded time.
 */
export interface Fault {
  readonly name: string;
  inject(ctx: FaultContext): Promise<void>;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
