import * as nodePath from 'node:path';
import { Logger } from '../common/logger';
import { ChaosCluster } from './cluster/chaos-cluster';
import { loggedErrors } from './cluster/logged-errors';
import { Fault } from './failpoints/fault';
import { FaultSchedule } from './failpoints/fault-schedule';
import { Recorder } from './history/recorder';
import { RunHistory } from './history/history-file';
import { Report, checkAndReport } from './report/write-report';
import { SeededRandom } from './seeded-random';
import { Workload, WorkloadContext } from './traffic/workload';

export interface ChaosRunOptions {
  seed: number;
  durationMs: number;
  faults: Fault[];
  workloads: Workload[];
  agents: number;
  coordinators: number;
  lockClients: number;
  ttlSeconds: number;
  maxFaults: number;
  faultGapMs: [number, number];
  reportDir: string;
  keep: boolean;
  linearizabilityBudgetMs: number;
  /** Every host on a network namespace of its own (needs root and ip). */
  netns?: boolean;
  /** Agents run with the kernel page cache on. */
  kernelPageCache?: boolean;
  /** COHERD_TEST_PLANT of agent-0 (a bug planted in a real agent, --plant stale-names). */
  agentPlant?: string;
  logger: Logger;
  /** Resolves when the run should stop early (SIGINT). */
  interrupted: Promise<void>;
  /** Raw options for the report's replay line. */
  options: Record<string, unknown>;
}

/**
 * One chaos run: start the cluster, run the workloads while the schedule
 * injects faults, stop the faults, then the workloads, then the agents;
 * read the backing store; check; report; stop everything.
 */
export async function runChaos(o: ChaosRunOptions, onCluster: (c: ChaosCluster | undefined) => void): Promise<Report> {
  const startedAt = new Date().toISOString();
  const ttlMs = o.ttlSeconds * 1000;
  const cluster = await ChaosCluster.start({ agents: o.agents, coordinators: o.coordinators, lockHosts: o.workloads.some((w) => w.name === 'locks') ? o.lockClients : 0, ttlSeconds: o.ttlSeconds, logger: o.logger, netns: o.netns, agentPlant: o.agentPlant, kernelPageCache: o.kernelPageCache, slowStore: o.faults.some((f) => f.name === 'slow-store') });
  onCluster(cluster);
  let stopping = false;
  try {
    const rec = new Recorder();
    cluster.onLease = (host, remainingMs) => rec.leaseSeen(host, remainingMs);
    const root = new SeededRandom(o.seed);
    const wctx: WorkloadContext = {
      cluster, rec, rnd: root.fork('traffic'), logger: o.logger, running: () => !stopping,
      opTimeoutMs: Math.max(10_000, ttlMs + 6000), maxOpsPerProcess: 20_000, ttlMs,
    };
    const schedule = new FaultSchedule({ faults: o.faults, untilMs: o.durationMs - 2000, maxFaults: o.maxFaults, gapMs: o.faultGapMs });
    for (const w of o.workloads) await w.prepare?.(wctx);
    o.logger.info('chaos run started', { seed: o.seed, durationMs: o.durationMs });
    const traffic = Promise.all(o.workloads.map((w) => w.run(wctx)));
    const faults = schedule.run({ cluster, rec, rnd: root.fork('faults'), logger: o.logger, ttlMs });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((r) => { timer = setTimeout(r, o.durationMs); }), o.interrupted]);
    clearTimeout(timer);
    schedule.stop();
    await faults;
    stopping = true;
    await traffic;
    const durationMs = rec.now();
    o.logger.info('stopping agents for the final reads', { faults: schedule.injected, ops: rec.ops.length });
    await cluster.stopAgents();
    for (const w of o.workloads) await w.finish?.(wctx);
    const errors = await loggedErrors(cluster.agents.map((a, i) => ({ host: `agent-${i}`, file: a.agent.logFile })));
    const h: RunHistory = { meta: { seed: o.seed, startedAt, durationMs, options: o.options, loggedErrors: errors }, ops: rec.ops, faults: rec.faults, leases: rec.leases };
    const report = await checkAndReport(h, o.reportDir, { linearizabilityBudgetMs: o.linearizabilityBudgetMs });
    if (report.results.some((r) => r.verdict === 'fail')) await cluster.saveLogs(nodePath.join(o.reportDir, 'logs'));
    return report;
  } finally {
    stopping = true;
    await cluster.stop(o.keep);
    onCluster(undefined);
  }
}
