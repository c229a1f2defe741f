import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { CheckOptions, runCheckers } from '../checkers/run-checkers';
import { CheckResult } from '../checkers/check-result';
import { RunHistory, historyToJsonl } from '../history/history-file';
import { renderReport } from './html-report';
import { RunSummary, summarize } from './summary';

export interface Report {
  results: CheckResult[];
  summary: RunSummary;
}

/** Checks a history and writes index.html, history.jsonl and summary.json into dir. */
export async function checkAndReport(h: RunHistory, dir: string, o: CheckOptions & { writeHistory?: boolean } = {}): Promise<Report> {
  const results = runCheckers(h, o);
  const summary = summarize(h, results);
  await fsp.mkdir(dir, { recursive: true });
  if (o.writeHistory !== false) await fsp.writeFile(path.join(dir, 'history.jsonl'), historyToJsonl(h));
  await fsp.writeFile(path.join(dir, 'summary.json'), JSON.stringify({ ...summary, violations: results.flatMap((r) => r.violations) }, null, 2) + '\n');
  await fsp.writeFile(path.join(dir, 'index.html'), renderReport(h, results, summary));
  return { results, summary };
}
