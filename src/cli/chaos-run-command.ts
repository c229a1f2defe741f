import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Command } from 'commander';
import { InvalidArgumentError } from '../common/errors';
import { createLogger } from '../common/logger';
import { ChaosCluster } from '../chaos/cluster/chaos-cluster';
import { runChaos } from '../chaos/chaos-run';
import { parseFaults } from '../chaos/failpoints/fault-catalog';
import { allPassed } from '../chaos/checkers/run-checkers';
import { randomSeed } from '../chaos/seeded-random';
import { agentPlant, parseWorkloads } from '../chaos/workload-catalog';
import { parseSeconds } from './options';
import { printVerdicts } from './chaos-command';

function int(text: string, flag: string, lo: number, hi: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < lo || n > hi) throw new InvalidArgumentError('INVALID_ARGUMENT', `${flag} must be an integer from ${lo} to ${hi}, got "${text}"`);
  return n;
}

function gap(text: string): [number, number] {
  const m = /^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!m || Number(m[1]) > Number(m[2])) throw new InvalidArgumentError('INVALID_ARGUMENT', `--fault-gap must be MIN-MAX seconds, got "${text}"`);
  return [Math.round(Number(m[1]) * 1000), Math.round(Number(m[2]) * 1000)];
}

export function chaosRunCommand(): Command {
  return new Command('run')
    .description('start a local cluster (3 etcd, coordinators, agents, lock clients) behind fault proxies, run workloads while injecting faults, check and report')
    .option('--seed <n>', 'seed of the fault schedule and workloads (printed when omitted)')
    .option('--duration <seconds>', 'how long to run the workloads', '60')
    .option('--faults <list>', 'fault kinds (comma list, "all" or "none")', 'all')
    .option('--workload <list>', 'workloads: locks, register, register-mmap, register-mmap-write, rmw, append, churn, names (comma list; "all": every one)', 'all')
    .option('--agents <n>', 'agents (FUSE mounts of one backing directory)', '3')
    .option('--coordinators <n>', 'coordinators (2 or 3)', '3')
    .option('--lock-clients <n>', 'lock-holding client hosts', '3')
    .option('--ttl <seconds>', 'session lease TTL of agents and clients', '3')
    .option('--max-faults <n>', 'stop injecting after this many faults', '1000')
    .option('--fault-gap <min-max>', 'quiet seconds between faults', '1-4')
    .option('--report <dir>', 'where to write index.html, history.jsonl, summary.json (default ./chaos-report-SEED)')
    .option('--budget <seconds>', 'time budget of the linearizability search', '60')
    .option('--plant <list>', 'plant a bug in the harness\'s own clients to see the checkers fail: ignore-lease (lock holders write past their lease deadline), stale-names or stale-pages (agent-0 skips every kernel invalidation)')
    .option('--keep', 'keep the cluster directory (logs, backing files) for inspection')
    .option('--kernel-page-cache', 'agents answer read-only opens through the kernel page cache, as they do by default (--plant stale-pages needs it)')
    .option('--no-kernel-page-cache', 'agents run with --kernel-page-cache no: every open direct_io')
    .option('--netns', 'each host (etcd members, coordinators, agents, lock clients) in its own network namespace; partitions drop real packets (root)')
    .action(async (opts) => {
      const seed = opts.seed === undefined ? randomSeed() : int(String(opts.seed), '--seed', 0, 2 ** 31 - 1);
      const durationMs = parseSeconds(opts.duration, '--duration');
      if (durationMs < 5000) throw new InvalidArgumentError('INVALID_ARGUMENT', '--duration must be at least 5 seconds');
      const faults = parseFaults(opts.faults);
      const plants = opts.plant ? String(opts.plant).split(',').map((x) => x.trim()).filter(Boolean) : [];
      const workloads = parseWorkloads(opts.workload, plants);
      const agents = int(opts.agents, '--agents', 1, 8);
      const coordinators = int(opts.coordinators, '--coordinators', 2, 3);
      const ttlSeconds = int(opts.ttl, '--ttl', 2, 60);
      const budget = parseSeconds(opts.budget, '--budget');
      const reportDir = path.resolve(opts.report ?? `chaos-report-${seed}`);
      process.stdout.write(`coherd chaos: seed ${seed} (replay with --seed ${seed}), report in ${reportDir}\n`);
      const logger = createLogger({ level: process.env.COHERD_LOG_LEVEL ?? 'info' }).child({ component: 'chaos' });
      let cluster: ChaosCluster | undefined;
      let interrupt: () => void = () => undefined;
      const interrupted = new Promise<void>((r) => { interrupt = r; });
      let sigints = 0;
      const onSigint = () => {
        if (++sigints === 1) {
          process.stderr.write('coherd chaos: interrupted; stopping faults and workloads, then checking what ran (Ctrl-C again to abort)\n');
          interrupt();
        } else {
          killNow(cluster);
          process.exit(130);
        }
      };
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigint);
      const onExit = () => killNow(cluster);
      process.once('exit', onExit);
      try {
        const report = await runChaos({
          seed, durationMs, faults, workloads, agents, coordinators,
          lockClients: int(opts.lockClients, '--lock-clients', 1, 8), ttlSeconds,
          maxFaults: int(opts.maxFaults, '--max-faults', 0, 100_000), faultGapMs: gap(opts.faultGap),
          reportDir, keep: Boolean(opts.keep), linearizabilityBudgetMs: budget, netns: Boolean(opts.netns), kernelPageCache: opts.kernelPageCache !== false, agentPlant: agentPlant(plants), logger, interrupted,
          options: { duration: opts.duration, faults: opts.faults, workload: opts.workload, agents, coordinators, ttl: ttlSeconds, ...(opts.netns ? { netns: true } : {}), ...(opts.kernelPageCache === false ? { kernelPageCache: false } : {}), ...(plants.length ? { plant: plants.join(',') } : {}) },
        }, (c) => { cluster = c; });
        printVerdicts(report.results);
        const s = report.summary;
        for (const e of s.loggedErrors) process.stdout.write(`agent error log: ${e.host} "${e.message}"${e.error ? ` (${e.error})` : ''} ×${e.count}\n`);
        process.stdout.write(`seed ${seed}: ${s.faults.total} faults (${Object.entries(s.faults.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}), ${s.operations.total} operations; report ${path.join(reportDir, 'index.html')}\n`);
        process.exitCode = allPassed(report.results) ? 0 : 1;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
        process.off('exit', onExit);
      }
    });
}

/** Last resort on exit or a second Ctrl-C: SIGKILL what the run started and detach its mounts, synchronously. */
function killNow(cluster: ChaosCluster | undefined): void {
  if (!cluster) return;
  for (const pid of cluster.pids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const a of cluster.agents) {
    try {
      execFileSync('fusermount', ['-uz', a.agent.mountPoint], { stdio: 'ignore', timeout: 5000 });
    } catch {
      /* not mounted */
    }
  }
  if (cluster.slowStore) {
    try {
      execFileSync('fusermount', ['-uz', cluster.backingDir], { stdio: 'ignore', timeout: 5000 });
    } catch {
      /* not mounted */
    }
  }
  cluster.network?.destroy();
}
