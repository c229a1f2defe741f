import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMutualExclusion } from '../../src/chaos/checkers/mutual-exclusion';
import { checkLockLoss } from '../../src/chaos/checkers/lock-loss';
import { checkFencingOrder } from '../../src/chaos/checkers/fencing-order';
import { checkLeaseDeadline } from '../../src/chaos/checkers/lease-deadline';
import { HistoryBuilder } from './support/chaos-history-builder';

function handOffs(): HistoryBuilder {
  const b = new HistoryBuilder();
  b.hold('c1', 'lock-0', 10, 100, [5, 1]);
  b.hold('c2', 'lock-0', 120, 200, [5, 2]);
  b.hold('c3', 'lock-1', 50, 150, [5, 3]);
  // c1 was partitioned: it fenced itself at 400, the coordinator gave the lock to c2 at 450 in a new epoch.
  b.hold('c1', 'lock-0', 300, 600, [5, 4], { toldLostMs: 400 });
  b.hold('c2', 'lock-0', 450, 500, [9, 1]);
  return b;
}

test('mutual exclusion passes hand-offs, other resources and a holder that fenced itself before the next grant', () => {
  const r = checkMutualExclusion(handOffs().history());
  assert.equal(r.verdict, 'pass', JSON.stringify(r.violations));
  assert.equal(r.checkedOps, 5);
});

test('mutual exclusion fails when a second holder is granted before the first released', () => {
  const b = handOffs();
  const first = b.hold('c4', 'lock-1', 1000, 1200, [9, 5]);
  const second = b.hold('c5', 'lock-1', 1100, 1300, [9, 6]);
  const r = checkMutualExclusion(b.history());
  assert.equal(r.verdict, 'fail');
  assert.equal(r.violations.length, 1);
  assert.deepEqual(r.violations[0].ops.slice(0, 2), [second.id, first.id]);
});

test('mutual exclusion fails when the first holder was told only after the next grant', () => {
  const b = new HistoryBuilder();
  b.hold('c1', 'k', 0, 900, [1, 1], { toldLostMs: 600 });
  b.hold('c2', 'k', 500, 700, [2, 1]);
  assert.equal(checkMutualExclusion(b.history()).verdict, 'fail');
});

test('mutual exclusion finds an overlap hidden behind a short hold (linear scan keeps the furthest reach)', () => {
  const b = new HistoryBuilder();
  b.hold('c1', 'k', 0, 1000, [1, 1]);
  b.hold('c2', 'k', 100, 110, [1, 2]);
  b.hold('c3', 'k', 500, 600, [1, 3]);
  assert.equal(checkMutualExclusion(b.history()).violations.length, 2);
});

test('lock loss passes when the earlier holder was told, and fails when it never was', () => {
  const told = new HistoryBuilder();
  told.hold('c1', 'k', 0, 900, [1, 1], { toldLostMs: 600 });
  told.hold('c2', 'k', 700, 800, [2, 1]);
  assert.equal(checkLockLoss(told.history()).verdict, 'pass');
  assert.equal(checkLockLoss(handOffs().history()).verdict, 'pass');

  const silent = new HistoryBuilder();
  const victim = silent.hold('c1', 'k', 0, 900, [1, 1]);
  const thief = silent.hold('c2', 'k', 700, 800, [2, 1]);
  const r = checkLockLoss(silent.history());
  assert.equal(r.verdict, 'fail');
  assert.deepEqual(r.violations[0].ops.slice(0, 2), [victim.id, thief.id]);
});

test('fencing order passes increasing tokens across epochs and fails on a later grant with a smaller or equal token', () => {
  assert.equal(checkFencingOrder(handOffs().history()).verdict, 'pass');
  const b = handOffs();
  const late = b.hold('c6', 'lock-0', 800, 900, [9, 1]);
  const r = checkFencingOrder(b.history());
  assert.equal(r.verdict, 'fail');
  assert.equal(r.violations[0].ops[0], late.id);

  const epochs = new HistoryBuilder();
  epochs.hold('c1', 'k', 0, 10, [7, 100]);
  epochs.hold('c2', 'k', 20, 30, [6, 500]);
  assert.equal(checkFencingOrder(epochs.history()).verdict, 'fail', 'a new leader with an older epoch');
});

test('fencing order does not order grants whose requests overlapped in time', () => {
  const b = new HistoryBuilder();
  b.hold('c1', 'k', 50, 60, [1, 2], { invokeMs: 0 });
  b.hold('c2', 'k', 70, 80, [1, 1], { invokeMs: 40 });
  assert.equal(checkFencingOrder(b.history()).verdict, 'pass');
});

test('fencing order fails when the store accepted an older token after a newer one', () => {
  const b = new HistoryBuilder();
  b.op({ process: 'c1', type: 'store-write', key: 'k', invokeMs: 0, completeMs: 5, result: 'ok', accepted: true, appliedMs: 2, fencingToken: { epoch: 1, counter: 5 } });
  b.op({ process: 'c2', type: 'store-write', key: 'k', invokeMs: 10, completeMs: 15, result: 'ok', accepted: true, appliedMs: 12, fencingToken: { epoch: 1, counter: 6 } });
  assert.equal(checkFencingOrder(b.history()).verdict, 'pass');
  b.op({ process: 'c1', type: 'store-write', key: 'k', invokeMs: 20, completeMs: 25, result: 'ok', accepted: true, appliedMs: 22, fencingToken: { epoch: 1, counter: 5 } });
  assert.equal(checkFencingOrder(b.history()).verdict, 'fail');
});

test('lease deadline passes writes issued before the deadline and fails one issued after it', () => {
  const b = new HistoryBuilder();
  b.op({ process: 'c1', type: 'store-write', key: 'k', invokeMs: 100, completeMs: 5000, result: 'ok', leaseDeadlineMs: 200 });
  b.op({ process: 'c1', type: 'store-write', key: 'k', invokeMs: 300, completeMs: 310, result: 'fail', leaseDeadlineMs: 200 });
  assert.equal(checkLeaseDeadline(b.history()).verdict, 'pass');
  const late = b.op({ process: 'c1', type: 'store-write', key: 'k', invokeMs: 300, completeMs: null, result: 'info', leaseDeadlineMs: 200 });
  const r = checkLeaseDeadline(b.history());
  assert.equal(r.verdict, 'fail');
  assert.deepEqual(r.violations[0].ops, [late.id]);
});
