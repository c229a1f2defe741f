import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLinearizability } from '../../src/chaos/checkers/register-linearizability';
import { checkStaleReads } from '../../src/chaos/checkers/stale-reads';
import { checkLostWrites } from '../../src/chaos/checkers/lost-writes';
import { SeededRandom } from '../../src/chaos/seeded-random';
import { HistoryBuilder } from './support/chaos-history-builder';

/**
 * A real linearizable register run by a simulator: each op takes effect at
 * a random instant inside [invoke, complete]; some writes crash (info) and
 * may or may not have happened.
 */
function simulatedHistory(seed: number, clients = 4, opsPerClient = 30, files = 2): HistoryBuilder {
  const rnd = new SeededRandom(seed);
  const b = new HistoryBuilder();
  type Plan = { process: string; key: string; kind: 'read' | 'write'; value: string; invokeMs: number; completeMs: number; effectMs: number; crashed: boolean };
  const plans: Plan[] = [];
  let n = 0;
  for (let c = 0; c < clients; c++) {
    let t = rnd.int(0, 20);
    for (let i = 0; i < opsPerClient; i++) {
      const invokeMs = t;
      const completeMs = t + rnd.int(1, 40);
      const kind = rnd.next() < 0.5 ? 'read' : 'write';
      plans.push({ process: `p${c}`, key: `reg-${rnd.int(0, files - 1)}`, kind, value: `v${n++}`, invokeMs, completeMs, effectMs: invokeMs + rnd.next() * (completeMs - invokeMs), crashed: kind === 'write' && rnd.next() < 0.05 });
      t = completeMs + rnd.int(0, 10);
    }
  }
  const state = new Map<string, string | null>();
  for (const p of [...plans].sort((a, b) => a.effectMs - b.effectMs)) {
    if (p.kind === 'write' && p.crashed && rnd.next() < 0.5) continue; // crashed before it took effect
    if (p.kind === 'write') state.set(p.key, p.value);
    else p.value = state.get(p.key) ?? (null as unknown as string);
  }
  for (const p of plans) {
    if (p.kind === 'write') b.write(p.process, p.key, p.value, p.invokeMs, p.crashed ? null : p.completeMs, p.crashed ? 'info' : 'ok');
    else b.read(p.process, p.key, p.value, p.invokeMs, p.completeMs);
  }
  return b;
}

test('linearizability and stale reads pass histories of a correct register (50 seeds, crashed writes included)', () => {
  for (let seed = 1; seed <= 50; seed++) {
    const h = simulatedHistory(seed).history();
    const lin = checkLinearizability(h, 10_000);
    assert.equal(lin.verdict, 'pass', `seed ${seed}: ${JSON.stringify(lin.violations)}`);
    assert.equal(checkStaleReads(h).verdict, 'pass', `seed ${seed}`);
  }
});

test('linearizability fails a read of an overwritten value and names the read', () => {
  const b = new HistoryBuilder();
  b.write('a', 'r', 'x', 0, 10);
  b.write('b', 'r', 'y', 20, 30);
  const stale = b.read('c', 'r', 'x', 40, 50);
  const r = checkLinearizability(b.history());
  assert.equal(r.verdict, 'fail');
  assert.equal(r.violations[0].ops[0], stale.id);
  assert.equal(checkStaleReads(b.history()).verdict, 'fail');
});

test('linearizability fails two readers that see two writes in opposite orders (no single stale read)', () => {
  const b = new HistoryBuilder();
  b.write('a', 'r', 'x', 0, 100);
  b.write('b', 'r', 'y', 0, 100);
  b.read('c', 'r', 'x', 10, 20);
  b.read('c', 'r', 'y', 30, 40);
  b.read('d', 'r', 'y', 10, 20);
  b.read('d', 'r', 'x', 30, 40);
  assert.equal(checkLinearizability(b.history()).verdict, 'fail');
  assert.equal(checkStaleReads(b.history()).verdict, 'pass', 'the cheap checker cannot see this one');
});

test('linearizability treats a crashed write as pending forever: it may show up late, or never', () => {
  const b = new HistoryBuilder();
  b.write('a', 'r', 'x', 0, 10);
  b.write('b', 'r', 'y', 20, null, 'info');
  b.read('c', 'r', 'x', 30, 40);
  b.read('c', 'r', 'y', 5000, 5010);
  assert.equal(checkLinearizability(b.history()).verdict, 'pass');
  b.read('c', 'r', 'x', 6000, 6010);
  assert.equal(checkLinearizability(b.history()).verdict, 'fail', 'once y was seen, x cannot come back');
});

test('linearizability partitions per file: a violation in one file is reported for that file only', () => {
  const b = simulatedHistory(7, 3, 20, 3);
  b.write('z', 'other', 'p', 0, 10);
  b.read('z', 'other', null, 20, 30);
  const r = checkLinearizability(b.history());
  assert.equal(r.verdict, 'fail');
  assert.deepEqual(r.violations.map((v) => v.key), ['other']);
});

test('linearizability gives up with "unknown", never "pass", when its time budget runs out', () => {
  const b = new HistoryBuilder();
  for (let i = 0; i < 26; i++) b.write(`w${i}`, 'r', `v${i}`, i, 100 + i);
  b.read('c', 'r', 'nobody-wrote-this', 200, 210);
  const r = checkLinearizability(b.history(), 200);
  assert.equal(r.verdict, 'unknown');
  assert.match(r.note ?? '', /budget/);
});

test('stale reads fail a value nobody wrote, a failed write\'s value and a read of the initial value after a write completed', () => {
  const b = new HistoryBuilder();
  b.write('a', 'r', 'x', 0, 10);
  b.write('a', 'r', 'bad', 20, 30, 'fail');
  b.read('c', 'r', null, 5, 8);
  assert.equal(checkStaleReads(b.history()).verdict, 'pass', 'the write had not completed yet');
  b.read('c', 'r', 'ghost', 40, 50);
  b.read('c', 'r', 'bad', 60, 70);
  b.read('c', 'r', null, 80, 90);
  const r = checkStaleReads(b.history());
  assert.equal(r.violations.length, 3);
});

test('lost writes passes when every acknowledged append is in the file once and fails on a missing, doubled or foreign line', () => {
  const make = (lines: string[]) => {
    const b = new HistoryBuilder();
    b.op({ process: 'a', type: 'append', key: 'log', value: 'a:1', invokeMs: 0, completeMs: 5, result: 'ok' });
    b.op({ process: 'b', type: 'append', key: 'log', value: 'b:1', invokeMs: 1, completeMs: 6, result: 'ok' });
    b.op({ process: 'b', type: 'append', key: 'log', value: 'b:2', invokeMs: 7, completeMs: null, result: 'info' });
    b.op({ process: 'backing', type: 'final-read', key: 'log', value: lines, invokeMs: 100, completeMs: 101, result: 'ok' });
    return checkLostWrites(b.history());
  };
  assert.equal(make(['b:1', 'a:1']).verdict, 'pass');
  assert.equal(make(['b:1', 'a:1', 'b:2']).verdict, 'pass', 'an unacknowledged append may or may not be there');
  assert.equal(make(['b:1']).verdict, 'fail');
  assert.equal(make(['b:1', 'a:1', 'a:1']).verdict, 'fail');
  assert.equal(make(['b:1', 'a:1', 'a:b:1']).verdict, 'fail');
});

test('linearizability settles crashed writes before searching: forty nobody read are dropped, one that was read must precede its read', () => {
  const b = new HistoryBuilder();
  for (let i = 0; i < 40; i++) b.write(`w${i}`, 'r', `lost-${i}`, i, null, 'info');
  b.write('a', 'r', 'x', 100, 110);
  b.read('c', 'r', 'x', 120, 130);
  b.write('z', 'r', 'seen', 140, null, 'info');
  b.read('c', 'r', 'seen', 150, 160);
  assert.equal(checkLinearizability(b.history(), 5000).verdict, 'pass');
  b.read('d', 'r', 'x', 170, 180);
  assert.equal(checkLinearizability(b.history(), 5000).verdict, 'fail', '"seen" took effect before 160, so x cannot be read after it');
});
