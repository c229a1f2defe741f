import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resultsDir } from './paths';
import { compareAll } from './compare';
import { renderMarkdown } from './report';
import type { Target } from './targets';
import type { BenchResults } from './types';

/** The machine the figures come from. */
export function hostInfo(): Record<string, string | number> {
  let etcd = 'unknown';
  try {
    const out = execFileSync(process.env.COHERD_ETCD_BIN ?? 'etcd', ['--version'], { encoding: 'utf8', timeout: 5000 });
    etcd = /etcd Version:\s*(\S+)/.exec(out)?.[1] ?? etcd;
  } catch {
    /* reported as unknown */
  }
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: os.release(),
    node: process.version,
    etcd,
    /** Other load on the machine skews every figure; recorded so a reader can tell. */
    loadAvg1m: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

/** YYYY-MM-DD in UTC. */
export function isoDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/**
 * RESULTS.md is regenerated on every full run, except what follows this
 * line: notes written by hand (profiles, causes of missed targets) stay.
 */
export const NOTES_MARKER = '<!-- Everything below this line is written by hand and kept when the tables above are regenerated. -->';

/** The generated report followed by the hand-written notes of `previous` (the old RESULTS.md), if any. */
export function withKeptNotes(generated: string, previous: string | undefined): string {
  const at = previous?.indexOf(NOTES_MARKER) ?? -1;
  const notes = previous !== undefined && at >= 0 ? previous.slice(at + NOTES_MARKER.length) : '\n';
  return `${generated.trimEnd()}\n\n${NOTES_MARKER}${notes}`;
}

/**
 * `previous` with the cases of `rerun` replaced (or added) and the
 * comparisons recomputed; the rerun is recorded in `reruns`.
 */
export function mergeRerun(previous: BenchResults, rerun: BenchResults, targets: readonly Target[]): BenchResults {
  if (previous.quick || rerun.quick) throw new RangeError('only full runs can be merged');
  if (previous.runs !== rerun.runs) throw new RangeError(`runs differ: ${previous.runs} recorded, ${rerun.runs} in the rerun`);
  const replaced = new Map(rerun.cases.map((c) => [c.id, c]));
  const cases = previous.cases.map((c) => replaced.get(c.id) ?? c);
  for (const c of rerun.cases) if (!previous.cases.some((p) => p.id === c.id)) cases.push(c);
  return {
    ...previous,
    cases,
    comparisons: compareAll(targets, cases),
    reruns: [
      ...(previous.reruns ?? []),
      {
        caseIds: rerun.cases.map((c) => c.id),
        startedAt: rerun.startedAt,
        finishedAt: rerun.finishedAt,
        loadAvg1mAtStart: Number(rerun.host.loadAvg1m),
        loadAvg1mAtEnd: Number(rerun.host.loadAvg1mAtEnd),
      },
    ],
  };
}

/** The recorded full results of `date`, if any. */
export function readResults(date: string): BenchResults | undefined {
  const file = path.join(resultsDir(), `${date}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResults) : undefined;
}

export interface WrittenFiles {
  json: string;
  markdown?: string;
}

/**
 * Full runs: bench/results/<date>.json and bench/RESULTS.md.
 * Quick runs: bench/results/quick-<date>.json only (RESULTS.md keeps the last full run).
 */
export function writeResults(results: BenchResults): WrittenFiles {
  const dir = resultsDir();
  const json = path.join(dir, `${results.quick ? 'quick-' : ''}${results.date}.json`);
  fs.writeFileSync(json, JSON.stringify(results, null, 2) + '\n');
  if (results.quick) return { json };
  const markdown = process.env.COHERD_BENCH_RESULTS_DIR ? path.join(dir, 'RESULTS.md') : path.join(path.dirname(dir), 'RESULTS.md');
  const previous = fs.existsSync(markdown) ? fs.readFileSync(markdown, 'utf8') : undefined;
  fs.writeFileSync(markdown, withKeptNotes(renderMarkdown(results), previous));
  return { json, markdown };
}
