import { summarize } from './stats';
import type { BenchResults, CaseResult, Comparison, Summary } from './types';

/** Renders results as bench/RESULTS.md. */

/** 3 significant figures, thousands unseparated, no exponent for ordinary sizes. */
export function formatNumber(x: number): string {
  if (x === 0) return '0';
  const abs = Math.abs(x);
  if (abs >= 1000) return Math.round(x).toString();
  const digits = Math.max(0, 2 - Math.floor(Math.log10(abs)));
  return x.toFixed(Math.min(digits, 6));
}

export function formatSummary(s: Summary | null): string {
  if (!s) return '—';
  if (s.n === 1) return formatNumber(s.median);
  return `${formatNumber(s.median)} [${formatNumber(s.min)}–${formatNumber(s.max)}]`;
}

function metYesNo(c: Comparison): string {
  if (c.met === null) return c.coherd ? 'n/a' : 'not measured';
  return c.met ? 'yes' : '**no**';
}

function comparisonRow(c: Comparison): string {
  const baseline = c.baseline ? `${c.baseline}: ${formatSummary(c.baselineSummary)}` : '—';
  const caseCell = c.subject && c.subject !== 'coherd' ? `${c.caseId} (${c.subject})` : c.caseId;
  return `| ${caseCell} | ${c.metric} | ${formatSummary(c.coherd)} | ${baseline} | ${formatSummary(c.ratio)} | ${c.target} | ${metYesNo(c)} |`;
}

function measurementRows(result: CaseResult): string[] {
  const rows: string[] = [];
  for (const { name, role } of result.subjects) {
    const perMetric = new Map<string, number[]>();
    const errors: string[] = [];
    for (const run of result.runs) {
      const outcome = run[name];
      if (!outcome) continue;
      if (outcome.error !== undefined) errors.push(outcome.error);
      if (!('metrics' in outcome)) continue;
      for (const [metric, value] of Object.entries(outcome.metrics)) {
        if (!perMetric.has(metric)) perMetric.set(metric, []);
        perMetric.get(metric)!.push(value);
      }
    }
    for (const [metric, values] of perMetric) {
      rows.push(`| ${result.id} | ${name} (${role}) | ${metric} | ${formatSummary(summarize(values))} | ${values.length} |`);
    }
    if (errors.length) rows.push(`| ${result.id} | ${name} (${role}) | failed runs | ${errors.length}: ${escapeCell(errors[0])} | |`);
  }
  return rows;
}

function escapeCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 200);
}

export function renderMarkdown(results: BenchResults): string {
  const h = results.host;
  const lines = [
    '# coherd benchmark results',
    '',
    `Recorded ${results.date} by \`npm run bench\` (${results.runs} runs per case, ${results.profile.name} profile);`,
    `raw figures in \`bench/results/${results.date}.json\`. Host: ${h.cpus} × ${h.cpuModel}, ${h.memGiB} GiB,`,
    `Linux ${h.kernel}, node ${h.node}, etcd ${h.etcd}; 1-min load average ${h.loadAvg1m} at start, ${h.loadAvg1mAtEnd ?? '?'} at end.`,
    '',
    ...(results.reruns ?? []).map(
      (r) => `Cases ${r.caseIds.join(', ')} were measured again from ${r.startedAt} to ${r.finishedAt} (load average ${r.loadAvg1mAtStart} at start, ${r.loadAvg1mAtEnd} at end) and replace their first figures.`,
    ),
    ...(results.reruns?.length ? [''] : []),
    'Every cell is median [min–max] over the runs. A ratio is coherd ÷ baseline computed',
    'within each run, then summarised, so drift that hits both subjects in a run cancels.',
    '"not measured": no coherd figure (not plugged in, bench/plugins.ts, or every run failed).',
    '',
    '## Targets (DESIGN §9)',
    '',
    '| case | metric | coherd | baseline | ratio | target | met? |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...results.comparisons.map(comparisonRow),
    '',
    '## All measurements',
    '',
    '| case | subject | metric | median [min–max] | runs |',
    '| --- | --- | --- | --- | --- |',
    ...results.cases.flatMap(measurementRows),
    '',
    '## Cases',
    '',
    ...results.cases.map((c) => `- **${c.id}** ${c.title}`),
    '',
  ];
  return lines.join('\n');
}
