import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, InvalidArgumentError as CommanderArgumentError } from 'commander';
import { startEtcd } from '../src/common/etcd-process';
import { createLogger, silentLogger } from '../src/common/logger';
import { buildCases } from './catalogue';
import { Cleanup } from './cleanup';
import { compareAll } from './compare';
import { coherdPlugins } from './plugins';
import { DEFAULT_RUNS, FULL_PROFILE, QUICK_PROFILE } from './profile';
import { hostInfo, isoDate, mergeRerun, readResults, writeResults } from './results-file';
import { runCases } from './runner';
import { TARGETS } from './targets';
import { BenchAbortedError } from './timing';
import type { BenchContext, BenchResults } from './types';

/**
 * `npm run bench` → node dist/bench/run.js [--quick] [--runs N] [--only P1,P2] [--mount DIR]
 *
 * Starts its own etcd, runs every case N times against coherd (where
 * plugged in, bench/plugins.ts) and the baselines, writes
 * bench/results/<date>.json and bench/RESULTS.md, and tears everything
 * down — etcd, mounts, child processes, temp dirs — on success, error or
 * SIGINT.
 */

interface CliOptions {
  quick: boolean;
  runs?: number;
  only?: string[];
  mount?: string;
  merge: boolean;
}

/** Stop waiting for an orderly teardown after this long once interrupted. */
const INTERRUPT_GRACE_MS = 20_000;

function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function parseArgs(argv: string[]): CliOptions {
  const positiveInt = (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new CommanderArgumentError('must be a positive integer');
    return n;
  };
  const program = new Command('bench')
    .description('coherd benchmarks against etcd Lock, the etcd3 npm Lock and a plain FUSE passthrough')
    .option('--quick', 'one run with tiny sizes; writes bench/results/quick-<date>.json only', false)
    .option('--runs <n>', `runs per case (default ${DEFAULT_RUNS}, quick 1)`, positiveInt)
    .option('--only <ids>', 'comma-separated case ids, e.g. P1,P2', (v: string) => v.split(',').filter(Boolean))
    .option('--mount <dir>', 'a mounted coherd filesystem to measure in P6 (instead of the plugin)')
    .option('--merge', "with --only: replace those cases in today's bench/results/<date>.json and RESULTS.md instead of writing a report of them alone", false)
    .allowExcessArguments(false);
  program.parse(argv, { from: 'user' });
  return program.opts<CliOptions>();
}

async function main(cli: CliOptions, cleanup: Cleanup, signal: AbortSignal): Promise<void> {
  const profile = cli.quick ? QUICK_PROFILE : FULL_PROFILE;
  const runs = cli.runs ?? (cli.quick ? 1 : DEFAULT_RUNS);
  if (cli.mount && !fs.statSync(cli.mount).isDirectory()) throw new Error(`--mount ${cli.mount} is not a directory`);
  const started = new Date();
  const mergeInto = cli.merge ? readResults(isoDate(started)) : undefined;
  if (cli.merge && (!cli.only || cli.quick || !mergeInto)) throw new Error(`--merge needs --only, a full run, and bench/results/${isoDate(started)}.json`);
  const hostAtStart = hostInfo();

  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-bench-'));
  cleanup.add({
    name: 'work dir',
    run: () => fs.promises.rm(workDir, { recursive: true, force: true }),
    runSync: () => fs.rmSync(workDir, { recursive: true, force: true }),
  });
  progress('starting etcd');
  const etcd = await startEtcd({ name: 'coherd-bench', dataDir: path.join(workDir, 'etcd') });
  cleanup.add({
    name: 'etcd',
    run: () => etcd.stop(),
    runSync: () => {
      if (etcd.pid) process.kill(etcd.pid, 'SIGKILL');
    },
  });
  progress(`etcd at ${etcd.endpoint}`);

  const ctx: BenchContext = {
    etcdEndpoint: etcd.endpoint,
    profile,
    logger: process.env.COHERD_BENCH_LOG ? createLogger({ level: process.env.COHERD_BENCH_LOG }) : silentLogger(),
    workDir,
    signal,
    cleanup,
    progress,
  };
  const cases = buildCases(ctx, { plugins: coherdPlugins, coherdMountDir: cli.mount, only: cli.only });
  progress(`${cases.map((c) => `${c.id} (${c.subjects.map((s) => s.name).join(', ')})`).join('; ')}; ${runs} run(s), ${profile.name} profile`);

  const caseResults = await runCases(ctx, cases, runs);
  const results: BenchResults = {
    schema: 1,
    date: isoDate(started),
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    quick: cli.quick,
    runs,
    host: { ...hostAtStart, loadAvg1mAtEnd: hostInfo().loadAvg1m },
    profile,
    cases: caseResults,
    comparisons: compareAll(TARGETS, caseResults),
  };
  const written = writeResults(mergeInto ? mergeRerun(mergeInto, results, TARGETS) : results);
  progress(`wrote ${written.json}${written.markdown ? ` and ${written.markdown}` : ''}`);
}

function start(): void {
  const cleanup = new Cleanup((name, e) => progress(`cleanup of ${name} failed: ${(e as Error)?.message ?? e}`));
  const abort = new AbortController();
  let exiting = false;
  const finish = (code: number) => {
    if (exiting) return;
    exiting = true;
    const guard = setTimeout(() => process.exit(code), INTERRUPT_GRACE_MS);
    cleanup.runAll().finally(() => {
      clearTimeout(guard);
      process.exit(code);
    });
  };
  const interrupt = (sig: NodeJS.Signals) => {
    if (exiting) return;
    progress(`${sig}: stopping and cleaning up`);
    abort.abort();
    finish(130);
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  process.on('exit', () => cleanup.runAllSync());
  process.on('uncaughtException', (e) => {
    progress(`uncaught: ${e.stack ?? e}`);
    finish(1);
  });
  process.on('unhandledRejection', (e) => {
    progress(`unhandled rejection: ${(e as Error)?.stack ?? e}`);
    finish(1);
  });

  let cli: CliOptions;
  try {
    cli = parseArgs(process.argv.slice(2));
  } catch (e) {
    progress((e as Error).message);
    process.exit(2);
  }
  main(cli, cleanup, abort.signal).then(
    () => finish(0),
    (e) => {
      if (e instanceof BenchAbortedError) return finish(130);
      progress(`failed: ${(e as Error)?.stack ?? e}`);
      finish(1);
    },
  );
}

if (require.main === module) start();
