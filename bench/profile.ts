/**
 * Sizes and time bounds of every case. Every loop in the benchmarks is
 * bounded by a count and by a time, whichever comes first.
 */
export interface Profile {
  name: 'full' | 'quick';
  /** P1: acquire+release pairs, at most. */
  uncontendedOps: number;
  /** P1: stop after this long even if uncontendedOps were not reached. */
  uncontendedMaxMs: number;
  /** P1–P3: untimed acquire+release pairs before measuring. */
  warmupOps: number;
  /** P2/P3: number of contenders, each with its own connection and session. */
  contenders: number;
  /** P2/P3: measuring window. */
  contendedWindowMs: number;
  /** P2: how long a second contender must stay blocked in the serialisation check. */
  serialisationProbeMs: number;
  /** P6: size of the sequential file. */
  sequentialMiB: number;
  /** P6: block sizes for sequential write and read, bytes. */
  blockSizes: number[];
  /** P6: number of small files created, then stat'ed. */
  smallFiles: number;
  /** P6: bytes written into each small file. */
  smallFileBytes: number;
  /** P4: token-cache hits measured, at most (per path measured). */
  tokenHitOps: number;
  /** P4: stop measuring a path after this long even if tokenHitOps were not reached. */
  tokenHitMaxMs: number;
  /** P5: revoke round trips measured (after revokeWarmup unmeasured ones). */
  revokeSamples: number;
  revokeWarmup: number;
  /** P8: sessions (CoherdClients) holding tokens. */
  scaleSessions: number;
  /** P8: data READ tokens each session holds at full load. */
  scaleTokensPerSession: number;
  /** P8: grants the probe client times at each load. */
  scaleProbeGrants: number;
  /** P8: loading the tokens fails after this long. */
  scaleLoadMaxMs: number;
  /** Any single step (one dd, one small-file pass) is killed after this long. */
  stepTimeoutMs: number;
  /** One subject's whole measurement (set-up, warm-up, measuring, teardown) fails after this long. */
  measurementTimeoutMs: number;
}

export const FULL_PROFILE: Profile = {
  name: 'full',
  uncontendedOps: 2000,
  uncontendedMaxMs: 10_000,
  warmupOps: 50,
  contenders: 8,
  contendedWindowMs: 5000,
  serialisationProbeMs: 300,
  sequentialMiB: 256,
  blockSizes: [1024 * 1024, 4096],
  smallFiles: 1000,
  smallFileBytes: 4096,
  tokenHitOps: 20_000_000,
  tokenHitMaxMs: 2000,
  revokeSamples: 400,
  revokeWarmup: 20,
  scaleSessions: 1000,
  scaleTokensPerSession: 1000,
  scaleProbeGrants: 1000,
  scaleLoadMaxMs: 600_000,
  stepTimeoutMs: 120_000,
  measurementTimeoutMs: 900_000,
};

export const QUICK_PROFILE: Profile = {
  name: 'quick',
  uncontendedOps: 100,
  uncontendedMaxMs: 2000,
  warmupOps: 5,
  contenders: 8,
  contendedWindowMs: 1000,
  serialisationProbeMs: 150,
  sequentialMiB: 8,
  blockSizes: [1024 * 1024, 4096],
  smallFiles: 100,
  smallFileBytes: 4096,
  tokenHitOps: 1_000_000,
  tokenHitMaxMs: 300,
  revokeSamples: 50,
  revokeWarmup: 5,
  scaleSessions: 50,
  scaleTokensPerSession: 100,
  scaleProbeGrants: 200,
  scaleLoadMaxMs: 60_000,
  stepTimeoutMs: 30_000,
  measurementTimeoutMs: 120_000,
};

/** Default number of runs per case (each run measures every subject once). */
export const DEFAULT_RUNS = 5;
