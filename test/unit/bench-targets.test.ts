import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare } from '../../bench/compare';
import { QUICK_PROFILE } from '../../bench/profile';
import { mergeRerun, NOTES_MARKER, withKeptNotes } from '../../bench/results-file';
import { TARGETS } from '../../bench/targets';
import type { BenchResults, CaseResult } from '../../bench/types';

const p3: CaseResult = {
  id: 'P3',
  title: 'pipelined',
  subjects: [
    { name: 'coherd-pipelined', role: 'coherd' },
    { name: 'coherd', role: 'coherd' },
    { name: 'etcd-v3lock', role: 'baseline' },
  ],
  runs: [
    { 'coherd-pipelined': { metrics: { grantsPerSec: 12_000 } }, coherd: { metrics: { grantsPerSec: 6000 } }, 'etcd-v3lock': { metrics: { grantsPerSec: 400 } } },
    { 'coherd-pipelined': { metrics: { grantsPerSec: 9000 } }, coherd: { metrics: { grantsPerSec: 5000 } }, 'etcd-v3lock': { metrics: { grantsPerSec: 500 } } },
    { 'coherd-pipelined': { metrics: { grantsPerSec: 11_000 } }, coherd: { metrics: { grantsPerSec: 7000 } }, 'etcd-v3lock': { metrics: { grantsPerSec: 440 } } },
  ],
};

describe('bench targets with a named coherd subject', () => {
  const [plain, pipelined] = TARGETS.filter((t) => t.caseId === 'P3');

  it('holds the plain and the pipelined P3 variants to the same absolute target, each on its own runs', () => {
    const a = compare(plain, p3);
    const b = compare(pipelined, p3);
    assert.equal(a.subject, 'coherd');
    assert.equal(b.subject, 'coherd-pipelined');
    assert.deepEqual(a.coherd, { median: 6000, min: 5000, max: 7000, n: 3 });
    assert.deepEqual(b.coherd, { median: 11_000, min: 9000, max: 12_000, n: 3 });
    assert.equal(a.met, false);
    assert.equal(b.met, true);
  });

  it('computes the ratio to the baseline run by run for the named subject', () => {
    const b = compare(pipelined, p3);
    // 12000/400 = 30, 9000/500 = 18, 11000/440 = 25
    assert.deepEqual(b.ratio, { median: 25, min: 18, max: 30, n: 3 });
  });
});

describe('bench RESULTS.md notes', () => {
  it('keeps what follows the marker when the tables are regenerated', () => {
    const old = `# old tables\n\n${NOTES_MARKER}\n\n## Findings\n\nhot spot in x.ts\n`;
    const next = withKeptNotes('# new tables\n', old);
    assert.equal(next, `# new tables\n\n${NOTES_MARKER}\n\n## Findings\n\nhot spot in x.ts\n`);
  });

  it('adds the marker to a report that had none', () => {
    assert.equal(withKeptNotes('# t\n', undefined), `# t\n\n${NOTES_MARKER}\n`);
    assert.equal(withKeptNotes('# t\n', '# no marker here\n'), `# t\n\n${NOTES_MARKER}\n`);
  });
});

describe('bench rerun merge', () => {
  const host = { cpus: 2, cpuModel: 'cpu', memGiB: 4, kernel: '6.1', node: 'v20', etcd: '3.4.23', loadAvg1m: 1, loadAvg1mAtEnd: 2 };
  const base = (cases: CaseResult[], startedAt: string): BenchResults => ({
    schema: 1, date: '2025-01-02', startedAt, finishedAt: startedAt, quick: false, runs: 3, host, profile: QUICK_PROFILE, cases, comparisons: [],
  });

  it('replaces the rerun cases, keeps the others and recomputes the comparisons from the merged runs', () => {
    const oldP3: CaseResult = { ...p3, runs: p3.runs.map((r) => ({ ...r, 'coherd-pipelined': { error: 'boom' } })) };
    const p1: CaseResult = { id: 'P1', title: 'uncontended', subjects: [{ name: 'coherd', role: 'coherd' }], runs: [] };
    const merged = mergeRerun(base([p1, oldP3], 'first'), base([p3], 'again'), TARGETS);
    assert.deepEqual(merged.cases.map((c) => c.id), ['P1', 'P3']);
    assert.equal(merged.cases[1], p3);
    const pipelined = merged.comparisons.find((c) => c.subject === 'coherd-pipelined');
    assert.equal(pipelined?.coherd?.median, 11_000);
    assert.deepEqual(merged.reruns?.map((r) => [r.caseIds, r.startedAt]), [[['P3'], 'again']]);
  });

  it('refuses to merge runs of different lengths', () => {
    assert.throws(() => mergeRerun(base([], 'a'), { ...base([], 'b'), runs: 5 }, TARGETS), RangeError);
  });
});
