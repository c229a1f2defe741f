/**
 * DESIGN §9's performance targets as data. A ratio target compares coherd
 * with a baseline subject measured in the same run (ratio per run, then the
 * median of the ratios); an absolute target bounds coherd's own figure,
 * either by a number or by another metric the same measurement reported
 * (e.g. a failover time bounded by the TTL it ran with).
 */
export interface Target {
  caseId: string;
  /** Metric compared (the same name in coherd's and the baseline's metrics). */
  metric: string;
  /** As written in DESIGN §9. */
  text: string;
  kind: 'ratio' | 'absolute';
  /** The coherd subject held to the target; default 'coherd'. */
  subject?: string;
  /** Baseline subject: the denominator of a ratio target, shown for orientation with an absolute one. */
  baseline?: string;
  op: '<=' | '>=';
  limit: number | { metric: string };
}

const P6_METRICS = [
  'seqWrite1MiBMiBps',
  'seqRead1MiBMiBps',
  'seqWrite4KiBMiBps',
  'seqRead4KiBMiBps',
  'createFilesPerSec',
  // The same creates again in another directory: the serving process's create path is compiled by then.
  'createFilesPerSecWarm',
  'statFilesPerSec',
];

export const TARGETS: readonly Target[] = [
  { caseId: 'P1', metric: 'p50Ms', text: "p50 ≤ 1/3 of etcd's Lock service", kind: 'ratio', baseline: 'etcd-v3lock', op: '<=', limit: 1 / 3 },
  { caseId: 'P2', metric: 'handoffsPerSec', text: "≥ 10× etcd's Lock service", kind: 'ratio', baseline: 'etcd-v3lock', op: '>=', limit: 10 },
  { caseId: 'P2', metric: 'handoffsPerSec', text: '≥ 10× the etcd3 `Lock`', kind: 'ratio', baseline: 'etcd3-npm-lock', op: '>=', limit: 10 },
  { caseId: 'P3', metric: 'grantsPerSec', text: '≥ 10,000 grants/s (release answered before the next acquire)', kind: 'absolute', baseline: 'etcd-v3lock', op: '>=', limit: 10_000 },
  { caseId: 'P3', metric: 'grantsPerSec', text: '≥ 10,000 grants/s (release rides on the next acquire)', kind: 'absolute', subject: 'coherd-pipelined', baseline: 'etcd-v3lock', op: '>=', limit: 10_000 },
  { caseId: 'P4', metric: 'opsPerSec', text: '≥ 1,000,000/s (no network)', kind: 'absolute', op: '>=', limit: 1_000_000 },
  { caseId: 'P5', metric: 'p99Ms', text: 'revoke round trip p99 ≤ 2 ms', kind: 'absolute', op: '<=', limit: 2 },
  ...P6_METRICS.map<Target>((metric) => ({
    caseId: 'P6',
    metric,
    text: '≥ 0.8× the plain passthrough on the addon',
    kind: 'ratio',
    baseline: 'plain-passthrough',
    op: '>=',
    limit: 0.8,
  })),
  { caseId: 'P6', metric: 'reRead1MiBMiBps', text: 're-read of a file this host holds READ on ≥ 0.5× the backing directory', kind: 'ratio', baseline: 'direct', op: '>=', limit: 0.5 },
  { caseId: 'P6', metric: 'reStatFilesPerSec', text: 'stat of files this host holds tokens for ≥ 0.3× the backing directory', kind: 'ratio', baseline: 'direct', op: '>=', limit: 0.3 },
  { caseId: 'P7', metric: 'failoverMs', text: 'leader killed → next grant ≤ leader TTL + 1 s', kind: 'absolute', op: '<=', limit: { metric: 'failoverBudgetMs' } },
  { caseId: 'P8', metric: 'rssMiB', text: 'coordinator RSS ≤ 1 GiB at 1,000,000 tokens', kind: 'absolute', op: '<=', limit: 1024 },
  { caseId: 'P10', metric: 'worstStallMs', text: 'hostile client: worst coordinator event-loop stall ≤ 20 ms', kind: 'absolute', op: '<=', limit: 20 },
  { caseId: 'P10', metric: 'wellBehavedP99Ms', text: 'hostile client: well-behaved acquire p99 ≤ 5 ms', kind: 'absolute', op: '<=', limit: 5 },
  { caseId: 'P10', metric: 'leadershipHeld', text: 'hostile client: leadership held (1)', kind: 'absolute', op: '>=', limit: 1 },
  { caseId: 'P8', metric: 'grantP99RatioTo1k', text: 'grant p99 ≤ 2× that at 1,000 tokens', kind: 'absolute', op: '<=', limit: 2 },
  { caseId: 'P9', metric: 'followedToAloneRatio', text: 'writer + follower ≥ 0.5× coherd\'s writer alone', kind: 'absolute', baseline: 'backing-dir', op: '>=', limit: 0.5 },
  { caseId: 'P9', metric: 'followerLagP99Ms', text: 'follower lag p99 ≤ 10 ms', kind: 'absolute', baseline: 'backing-dir', op: '<=', limit: 10 },
  { caseId: 'P9', metric: 'alternationRoundsPerSec', text: 'strict alternation ≥ 300 rounds/s', kind: 'absolute', baseline: 'backing-dir', op: '>=', limit: 300 },
];
