import * as path from 'node:path';
import { promises as fsp } from 'node:fs';
import { Command } from 'commander';
import { InvalidArgumentError } from '../common/errors';
import { readHistory } from '../chaos/history/history-file';
import { checkAndReport } from '../chaos/report/write-report';
import { CheckResult } from '../chaos/checkers/check-result';
import { allPassed } from '../chaos/checkers/run-checkers';
import { chaosRunCommand } from './chaos-run-command';

/** `coherd chaos run|check`: the chaos tool (DESIGN §12, docs/chaos.md). */
export function chaosCommand(): Command {
  return new Command('chaos')
    .description('inject faults into a local cluster under load, check the history, write an HTML report')
    .addCommand(chaosRunCommand().exitOverride())
    .addCommand(chaosCheckCommand().exitOverride());
}

function chaosCheckCommand(): Command {
  return new Command('check')
    .description('re-check a saved run (DIR/history.jsonl) and rewrite its report; exit 0 only when every checker passed')
    .argument('<dir>', 'a report directory written by `coherd chaos run`')
    .option('--budget <seconds>', 'time budget of the linearizability search', '30')
    .action(async (dir: string, opts) => {
      const budget = Number(opts.budget);
      if (!Number.isFinite(budget) || budget <= 0) throw new InvalidArgumentError('INVALID_ARGUMENT', `--budget must be a positive number of seconds, got "${opts.budget}"`);
      const file = path.join(dir, 'history.jsonl');
      await fsp.access(file).catch(() => {
        throw new InvalidArgumentError('INVALID_ARGUMENT', `no history at ${file}`);
      });
      const h = await readHistory(file);
      const { results } = await checkAndReport(h, dir, { linearizabilityBudgetMs: budget * 1000, writeHistory: false });
      printVerdicts(results);
      process.exitCode = allPassed(results) ? 0 : 1;
    });
}

/** One line per checker, then each violation (at most 20). */
export function printVerdicts(results: readonly CheckResult[]): void {
  for (const r of results) {
    process.stdout.write(`${r.verdict.toUpperCase().padEnd(7)} ${r.checker.padEnd(18)} ${String(r.checkedOps).padStart(6)} ops  ${r.violations.length} violations${r.note ? `  (${r.note})` : ''}\n`);
  }
  for (const v of results.flatMap((x) => x.violations).slice(0, 20)) process.stdout.write(`  ${v.checker}: ${v.message} [ops ${v.ops.join(', ')}]\n`);
}
