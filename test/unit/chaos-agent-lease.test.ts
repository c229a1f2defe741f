import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLeaseDeadline } from '../../src/chaos/checkers/lease-deadline';
import { leaseSpans, overlapsAny } from '../../src/chaos/checkers/agent-lease-intervals';
import { parseHistory, historyToJsonl, RunHistory } from '../../src/chaos/history/history-file';
import { LeaseRecord } from '../../src/chaos/history/operation';
import { HistoryBuilder } from './support/chaos-history-builder';

/** agent-0 renews every second (deadline 3 s ahead), is partitioned at 5 s: its last deadline is 7 s; fenced at 7 s; a new session at 9 s. */
function agentLeases(): LeaseRecord[] {
  const l: LeaseRecord[] = [];
  for (let t = 1000; t <= 4000; t += 1000) l.push({ host: 'agent-0', atMs: t, deadlineMs: t + 3000 });
  l.push({ host: 'agent-0', atMs: 7000, deadlineMs: null });
  l.push({ host: 'agent-0', atMs: 9000, deadlineMs: 12_000 });
  return l;
}

function withLeases(b: HistoryBuilder, leases: LeaseRecord[]): RunHistory {
  return { ...b.history(), leases };
}

function appendOp(b: HistoryBuilder, invokeMs: number, completeMs: number, result: 'ok' | 'fail' | 'info' = 'ok') {
  return b.op({ process: 'agent-0/append', host: 'agent-0', type: 'append', key: 'log', value: `v${invokeMs}`, invokeMs, completeMs, result });
}

test('an agent\'s acknowledged writes inside its leases, or spanning a moment of one, pass', () => {
  const b = new HistoryBuilder();
  b.op({ process: 'agent-0/register', host: 'agent-0', type: 'write', key: 'reg-0', value: 'a', invokeMs: 1500, completeMs: 1600, result: 'ok' });
  appendOp(b, 6900, 7100); // reached the store before 7 s at the latest
  appendOp(b, 8000, 9050); // after the new session began
  appendOp(b, 500, 800); // before the harness heard of any lease: not judged
  const r = checkLeaseDeadline(withLeases(b, agentLeases()));
  assert.equal(r.verdict, 'pass', JSON.stringify(r.violations));
  assert.equal(r.checkedOps, 3);
});

test('fails on an agent write acknowledged entirely after its lease deadline passed (planted: a partitioned agent that kept writing)', () => {
  const b = new HistoryBuilder();
  appendOp(b, 2000, 2100);
  const late = appendOp(b, 7300, 7400); // the deadline from the 4 s renewal was 7 s (+2 % rate tolerance: 7060 ms)
  const r = checkLeaseDeadline(withLeases(b, agentLeases()));
  assert.equal(r.verdict, 'fail');
  assert.equal(r.violations.length, 1);
  assert.deepEqual(r.violations[0].ops, [late.id]);
  assert.match(r.violations[0].message, /agent-0 acknowledged agent-0\/append's append on log/);
});

test('fails on a write acknowledged while the agent said it was fenced, even with time left on the old deadline', () => {
  const leases: LeaseRecord[] = [{ host: 'agent-1', atMs: 0, deadlineMs: 10_000 }, { host: 'agent-1', atMs: 2000, deadlineMs: null }, { host: 'agent-1', atMs: 5000, deadlineMs: 8000 }];
  const b = new HistoryBuilder();
  const fenced = b.op({ process: 'agent-1/register', host: 'agent-1', type: 'write', key: 'reg-1', value: 'x', invokeMs: 2500, completeMs: 4000, result: 'ok' });
  b.op({ process: 'agent-1/register', host: 'agent-1', type: 'write', key: 'reg-1', value: 'y', invokeMs: 2500, completeMs: 4000, result: 'fail' }); // refused: fine
  const r = checkLeaseDeadline(withLeases(b, leases));
  assert.deepEqual(r.violations.map((v) => v.ops[0]), [fenced.id]);
});

test('lease spans end at the next record and tolerate a 2 % slow agent clock', () => {
  const spans = leaseSpans(agentLeases()).get('agent-0')!.spans;
  assert.deepEqual(spans.map((s) => [s.startMs, Math.round(s.endMs)]), [[1000, 2000], [2000, 3000], [3000, 4000], [4000, 7000], [9000, 12_060]]);
  assert.equal(overlapsAny(spans, 7001, 8999), false);
  assert.equal(overlapsAny(spans, 12_059, 20_000), true);
  assert.equal(overlapsAny(spans, 12_061, 20_000), false);
});

test('lease lines survive the history file and malformed ones are refused with their line number', () => {
  const b = new HistoryBuilder();
  appendOp(b, 7300, 7400);
  const h = withLeases(b, agentLeases());
  const back = parseHistory(historyToJsonl(h));
  assert.deepEqual(back.leases, h.leases);
  assert.equal(checkLeaseDeadline(back).verdict, 'fail');
  assert.throws(() => parseHistory('{"kind":"lease","host":"agent-0","atMs":"soon","deadlineMs":1}\n'), /history line 1: lease needs/);
});
