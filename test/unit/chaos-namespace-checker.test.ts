import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkNamespace } from '../../src/chaos/checkers/namespace-linearizability';
import { Operation } from '../../src/chaos/history/operation';
import { SeededRandom } from '../../src/chaos/seeded-random';
import { HistoryBuilder } from './support/chaos-history-builder';

const A = 'names/p0-a';
const B = 'names/p0-b';

/** One op of the names workload: [invoke, complete], ok unless said otherwise. */
function nameOp(b: HistoryBuilder, process: string, type: Operation['type'], key: string, invokeMs: number, completeMs: number | null, extra: Partial<Operation> = {}): Operation {
  return b.op({ process, type, key, invokeMs, completeMs, result: 'ok', ...extra });
}

/**
 * A correct namespace run by a simulator: each op takes effect at a random
 * instant inside [invoke, complete] on two pairs of names; its outcome is
 * what the state said then. Some mutations crash (info) and may or may not
 * have happened.
 */
function simulatedHistory(seed: number, clients = 3, opsPerClient = 40): HistoryBuilder {
  const rnd = new SeededRandom(seed);
  const b = new HistoryBuilder();
  type Plan = { process: string; type: Operation['type']; pair: number; slot: 'a' | 'b'; value: string; invokeMs: number; completeMs: number; effectMs: number; crashed: boolean; result?: 'ok' | 'fail'; error?: string; seen?: string };
  const plans: Plan[] = [];
  let n = 0;
  for (let c = 0; c < clients; c++) {
    let t = rnd.int(0, 20);
    for (let i = 0; i < opsPerClient; i++) {
      const completeMs = t + rnd.int(1, 30);
      const type = rnd.pick(['name-create', 'name-unlink', 'name-rename', 'name-stat', 'name-read'] as const);
      const mutation = type === 'name-create' || type === 'name-unlink' || type === 'name-rename';
      plans.push({ process: `p${c}`, type, pair: rnd.int(0, 1), slot: rnd.pick(['a', 'b'] as const), value: `v${n++}`, invokeMs: t, completeMs, effectMs: t + rnd.next() * (completeMs - t), crashed: mutation && rnd.next() < 0.05 });
      t = completeMs + rnd.int(0, 10);
    }
  }
  const state = new Map<string, string>();
  for (const p of [...plans].sort((x, y) => x.effectMs - y.effectMs)) {
    if (p.crashed && rnd.next() < 0.5) continue;
    const name = `names/p${p.pair}-${p.slot}`;
    const other = `names/p${p.pair}-${p.slot === 'a' ? 'b' : 'a'}`;
    const cur = state.get(name);
    const fail = (error: string) => Object.assign(p, { result: 'fail', error });
    if (p.type === 'name-create') {
      if (cur === undefined) state.set(name, p.value);
      else fail('EEXIST');
    } else if (cur === undefined) fail('ENOENT');
    else if (p.type === 'name-unlink') state.delete(name);
    else if (p.type === 'name-rename') {
      state.set(other, cur);
      state.delete(name);
    } else p.seen = cur;
  }
  for (const p of plans) {
    const name = `names/p${p.pair}-${p.slot}`;
    const key = p.type === 'name-rename' ? `${name}>names/p${p.pair}-${p.slot === 'a' ? 'b' : 'a'}` : name;
    const extra: Partial<Operation> = { result: p.crashed ? 'info' : p.result ?? 'ok', error: p.error };
    if (p.type === 'name-create') extra.value = p.value;
    if (p.type === 'name-read' && p.seen !== undefined) extra.value = p.seen;
    nameOp(b, p.process, p.type, key, p.invokeMs, p.crashed ? null : p.completeMs, extra);
  }
  return b;
}

test('passes histories of a coherent namespace (40 seeds, renames and crashed mutations included)', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = checkNamespace(simulatedHistory(seed).history(), 10_000);
    assert.equal(r.verdict, 'pass', `seed ${seed}: ${JSON.stringify(r.violations)}`);
    assert.ok(r.checkedOps > 100);
  }
});

test('fails a stat that still finds a name absent after another host\'s create completed, naming the stat and the create', () => {
  const b = new HistoryBuilder();
  nameOp(b, 'agent-1/names', 'name-stat', A, 0, 5, { result: 'fail', error: 'ENOENT' });
  const create = nameOp(b, 'agent-0/names', 'name-create', A, 10, 20, { value: 'agent-0/names#1' });
  const stale = nameOp(b, 'agent-1/names', 'name-stat', A, 30, 35, { result: 'fail', error: 'ENOENT' });
  const r = checkNamespace(b.history());
  assert.equal(r.verdict, 'fail');
  assert.equal(r.violations.length, 1);
  assert.deepEqual(r.violations[0].ops.slice(0, 2), [stale.id, create.id]);
  assert.match(r.violations[0].message, /agent-1\/names's stat of names\/p0-a \(fail ENOENT\)/);
});

test('fails a read that still returns an unlinked name\'s content', () => {
  const b = new HistoryBuilder();
  nameOp(b, 'agent-0/names', 'name-create', A, 0, 10, { value: 'x' });
  nameOp(b, 'agent-1/names', 'name-read', A, 12, 14, { value: 'x' });
  nameOp(b, 'agent-0/names', 'name-unlink', A, 20, 30);
  const stale = nameOp(b, 'agent-1/names', 'name-read', A, 40, 45, { value: 'x' });
  const r = checkNamespace(b.history());
  assert.equal(r.verdict, 'fail');
  assert.equal(r.violations[0].ops[0], stale.id);
});

test('fails a create that succeeds on a name another host created and nobody removed', () => {
  const b = new HistoryBuilder();
  nameOp(b, 'agent-0/names', 'name-create', A, 0, 10, { value: 'x' });
  nameOp(b, 'agent-1/names', 'name-create', A, 20, 30, { value: 'y' });
  assert.equal(checkNamespace(b.history()).verdict, 'fail');
});

test('a rename moves the value: the target reads it, the source is gone; seeing the source afterwards fails', () => {
  const ok = new HistoryBuilder();
  nameOp(ok, 'agent-0/names', 'name-create', A, 0, 10, { value: 'x' });
  nameOp(ok, 'agent-0/names', 'name-create', B, 11, 12, { value: 'old' });
  nameOp(ok, 'agent-1/names', 'name-rename', `${A}>${B}`, 20, 30);
  nameOp(ok, 'agent-0/names', 'name-read', B, 40, 45, { value: 'x' });
  nameOp(ok, 'agent-0/names', 'name-stat', A, 46, 47, { result: 'fail', error: 'ENOENT' });
  assert.equal(checkNamespace(ok.history()).verdict, 'pass');
  const bad = new HistoryBuilder();
  nameOp(bad, 'agent-0/names', 'name-create', A, 0, 10, { value: 'x' });
  nameOp(bad, 'agent-1/names', 'name-rename', `${A}>${B}`, 20, 30);
  nameOp(bad, 'agent-0/names', 'name-stat', A, 40, 45);
  assert.equal(checkNamespace(bad.history()).verdict, 'fail');
});

test('an ambiguous create may have happened at any time after its call; a lost mount (ENOMOUNT) and an empty read say nothing against it', () => {
  const b = new HistoryBuilder();
  nameOp(b, 'agent-0/names', 'name-create', A, 0, null, { result: 'info', error: 'TIMEOUT', value: 'x' });
  nameOp(b, 'agent-1/names', 'name-stat', A, 5, 6, { result: 'fail', error: 'ENOENT' });
  nameOp(b, 'agent-1/names', 'name-read', A, 50, 60, { value: '' });
  nameOp(b, 'agent-1/names', 'name-read', A, 61, 62, { value: 'x' });
  nameOp(b, 'agent-1/names', 'name-stat', A, 70, 71, { result: 'fail', error: 'ENOMOUNT' });
  assert.equal(checkNamespace(b.history()).verdict, 'pass');
});

test('a create whose open made the name but whose write failed makes it present with unknown content', () => {
  const b = new HistoryBuilder();
  nameOp(b, 'agent-0/names', 'name-create', A, 0, 10, { value: 'x', error: 'CREATED_THEN_ENOENT' });
  nameOp(b, 'agent-1/names', 'name-read', A, 20, 25, { value: 'whatever' });
  nameOp(b, 'agent-1/names', 'name-create', A, 30, 35, { result: 'fail', error: 'EEXIST', value: 'y' });
  assert.equal(checkNamespace(b.history()).verdict, 'pass');
  nameOp(b, 'agent-1/names', 'name-stat', A, 40, 45, { result: 'fail', error: 'ENOENT' });
  assert.equal(checkNamespace(b.history()).verdict, 'fail');
});

test('a search that runs out of its budget says unknown, never pass', () => {
  const r = checkNamespace(simulatedHistory(7).history(), 0);
  assert.equal(r.verdict, 'unknown');
  assert.match(r.note ?? '', /time budget/);
});
