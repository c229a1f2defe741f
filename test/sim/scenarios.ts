import type { SimOptions } from './simulation';

/**
 * The seeded scenarios: the seed picks two or three hosts, how slots share
 * pages (100-byte slots packed, 1000 apart, a page each) and whether workers
 * pause between operations (low contention keeps caching on).
 */
export function scenarioFor(seed: number, faults: boolean, extra: Partial<SimOptions> = {}): SimOptions {
  return {
    seed,
    hosts: 2 + (seed % 2),
    workersPerHost: 2,
    slotsPerWorker: 3,
    opsPerWorker: 20,
    slotStride: [100, 1000, 4096][seed % 3],
    thinkMs: [0, 400][Math.floor(seed / 3) % 2],
    faults,
    maxDelayMs: 2,
    ...extra,
  };
}

/** The small scenario whose interleavings the explorer enumerates. */
export const EXPLORE_SCENARIO = { hosts: 2, workersPerHost: 1, slotsPerWorker: 1, opsPerWorker: 3, faults: false, maxDelayMs: 0 } as const;

/** How to replay one run from the command line. */
export function replayHint(seed: number, faults: boolean): string {
  return `replay: node dist/test/sim/long-run.js --seed ${seed}${faults ? ' --faults' : ''}`;
}
