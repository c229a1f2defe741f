import type { Logger } from '../src/common/logger';
import type { Cleanup } from './cleanup';
import type { Profile } from './profile';

/** Named figures from one measurement, units in the names (`p50Ms`, `opsPerSec`). */
export type Metrics = Record<string, number>;

/**
 * coherd: the system under test. baseline: what a target compares coherd
 * with. reference: shown for orientation only (e.g. the backing directory).
 */
export type SubjectRole = 'coherd' | 'baseline' | 'reference';

/** What every measurement gets from the runner. */
export interface BenchContext {
  /** etcd started by the runner for this benchmark, `http://127.0.0.1:<port>`. */
  etcdEndpoint: string;
  /** Sizes and time bounds (full or quick). */
  profile: Profile;
  /** Silent unless COHERD_BENCH_LOG is set. */
  logger: Logger;
  /** A temp dir for this benchmark, removed at the end. */
  workDir: string;
  /** Aborted on SIGINT/SIGTERM; measurements stop early and throw. */
  signal: AbortSignal;
  /** Register teardown that must happen even on error or SIGINT. */
  cleanup: Cleanup;
  /** One line of progress on stderr. */
  progress(message: string): void;
}

/** One system measured by a case, once per run. */
export interface Subject {
  /** Stable name used in the results: 'coherd', 'etcd-v3lock', 'plain-passthrough', … */
  name: string;
  role: SubjectRole;
  /** Sets up, measures, tears down; throws on failure (the run records the error). */
  measure(ctx: BenchContext): Promise<Metrics>;
}

/** A benchmark case (DESIGN §9): the same workload against several subjects. */
export interface BenchCase {
  /** 'P1', 'P2', … as selected by --only. */
  id: string;
  title: string;
  subjects: Subject[];
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/**
 * One subject's outcome in one run: its metrics, or an error, or both when
 * the measurement failed part-way (the metrics taken before the failure).
 */
export type RunOutcome = { metrics: Metrics; error?: string } | { error: string };

export interface CaseResult {
  id: string;
  title: string;
  subjects: Array<{ name: string; role: SubjectRole }>;
  /** runs[i][subjectName]: outcome of run i+1. */
  runs: Array<Record<string, RunOutcome>>;
}

export interface Comparison {
  caseId: string;
  /** The coherd subject evaluated: 'coherd' unless the target names another (P3 'coherd-pipelined'). */
  subject: string;
  metric: string;
  target: string;
  baseline: string | null;
  coherd: Summary | null;
  baselineSummary: Summary | null;
  /** coherd/baseline computed run by run, then summarised. */
  ratio: Summary | null;
  /** null: coherd not measured (not plugged in, or every run failed). */
  met: boolean | null;
}

/** The JSON written to bench/results/<date>.json. */
export interface BenchResults {
  schema: 1;
  date: string;
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  runs: number;
  host: Record<string, string | number>;
  profile: Profile;
  cases: CaseResult[];
  comparisons: Comparison[];
  /** Cases measured again later (`--only … --merge`) and merged into this file, replacing their first figures. */
  reruns?: Rerun[];
}

/** One `--merge` rerun: which cases, when, and how loaded the machine was. */
export interface Rerun {
  caseIds: string[];
  startedAt: string;
  finishedAt: string;
  loadAvg1mAtStart: number;
  loadAvg1mAtEnd: number;
}
