import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, compareAll } from '../../bench/compare';
import { renderMarkdown } from '../../bench/report';
import { QUICK_PROFILE } from '../../bench/profile';
import { rotate } from '../../bench/runner';
import type { Target } from '../../bench/targets';
import type { BenchResults, CaseResult, RunOutcome } from '../../bench/types';

function caseWith(runs: Array<Record<string, RunOutcome>>): CaseResult {
  return {
    id: 'P1',
    title: 'uncontended',
    subjects: [
      { name: 'coherd', role: 'coherd' },
      { name: 'etcd-v3lock', role: 'baseline' },
    ],
    runs,
  };
}

const p50Target: Target = { caseId: 'P1', metric: 'p50Ms', text: 'p50 ≤ 1/3', kind: 'ratio', baseline: 'etcd-v3lock', op: '<=', limit: 1 / 3 };

describe('bench compare', () => {
  it('meets a ratio target on the median of per-run ratios', () => {
    const result = caseWith([
      { coherd: { metrics: { p50Ms: 0.3 } }, 'etcd-v3lock': { metrics: { p50Ms: 1.5 } } },
      { coherd: { metrics: { p50Ms: 0.4 } }, 'etcd-v3lock': { metrics: { p50Ms: 1.6 } } },
      { coherd: { metrics: { p50Ms: 0.5 } }, 'etcd-v3lock': { metrics: { p50Ms: 1.0 } } },
    ]);
    const c = compare(p50Target, result);
    assert.equal(c.ratio?.n, 3);
    assert.ok(Math.abs(c.ratio!.median - 0.25) < 1e-12);
    assert.equal(c.met, true);
    assert.deepEqual(c.coherd, { median: 0.4, min: 0.3, max: 0.5, n: 3 });
  });

  it('misses a ratio target when the median ratio is on the wrong side', () => {
    const result = caseWith([{ coherd: { metrics: { p50Ms: 1 } }, 'etcd-v3lock': { metrics: { p50Ms: 1 } } }]);
    assert.equal(compare(p50Target, result).met, false);
  });

  it('reports "not measured" (null) when coherd is absent, still summarising the baseline', () => {
    const result = caseWith([{ 'etcd-v3lock': { metrics: { p50Ms: 1.4 } } }, { 'etcd-v3lock': { error: 'boom' } }]);
    const c = compare(p50Target, result);
    assert.equal(c.met, null);
    assert.equal(c.coherd, null);
    assert.deepEqual(c.baselineSummary, { median: 1.4, min: 1.4, max: 1.4, n: 1 });
  });

  it('bounds an absolute target by another metric when asked', () => {
    const target: Target = { caseId: 'P1', metric: 'failoverMs', text: '≤ TTL + 1 s', kind: 'absolute', op: '<=', limit: { metric: 'failoverBudgetMs' } };
    const ok = caseWith([{ coherd: { metrics: { failoverMs: 2500, failoverBudgetMs: 3000 } } }]);
    const late = caseWith([{ coherd: { metrics: { failoverMs: 3500, failoverBudgetMs: 3000 } } }]);
    assert.equal(compare(target, ok).met, true);
    assert.equal(compare(target, late).met, false);
  });

  it('only evaluates targets of cases that ran', () => {
    const result = caseWith([{ coherd: { metrics: { p50Ms: 0.1 } }, 'etcd-v3lock': { metrics: { p50Ms: 1 } } }]);
    const other: Target = { ...p50Target, caseId: 'P9' };
    assert.deepEqual(
      compareAll([p50Target, other], [result]).map((c) => c.caseId),
      ['P1'],
    );
  });
});

describe('bench runner order', () => {
  it('rotates subjects so none always goes first', () => {
    assert.deepEqual(rotate(['a', 'b', 'c'], 0), ['a', 'b', 'c']);
    assert.deepEqual(rotate(['a', 'b', 'c'], 1), ['b', 'c', 'a']);
    assert.deepEqual(rotate(['a', 'b', 'c'], 4), ['b', 'c', 'a']);
    assert.deepEqual(rotate([], 3), []);
  });
});

describe('bench report', () => {
  it('renders the target table with medians, ranges and met?', () => {
    const result = caseWith([
      { coherd: { metrics: { p50Ms: 0.3 } }, 'etcd-v3lock': { metrics: { p50Ms: 1.5 } } },
      { coherd: { metrics: { p50Ms: 0.2 } }, 'etcd-v3lock': { error: 'StepTimeoutError: slow | very' } },
    ]);
    const results: BenchResults = {
      schema: 1,
      date: '2025-01-02',
      startedAt: '',
      finishedAt: '',
      quick: false,
      runs: 2,
      host: { cpus: 2, cpuModel: 'cpu', memGiB: 4, kernel: '6.1', node: 'v20', etcd: '3.4.23' },
      profile: QUICK_PROFILE,
      cases: [result],
      comparisons: compareAll([p50Target], [result]),
    };
    const md = renderMarkdown(results);
    assert.match(md, /\| P1 \| p50Ms \| 0\.250 \[0\.200–0\.300\] \| etcd-v3lock: 1\.50 \| 0\.200 \| p50 ≤ 1\/3 \| yes \|/);
    assert.match(md, /failed runs \| 1: StepTimeoutError: slow \\\| very/);
  });
});
