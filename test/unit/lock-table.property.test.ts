import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Harness, HOLDERS, Op, RESOURCES, SESSIONS } from './support/lock-table-harness';
import { Space } from './support/lock-table-model';
import { ResourceState } from '../../src/coordinator/lock-table/resource-state';

/**
 * Random operation sequences against the brute-force model
 * (support/lock-table-model.ts). After every step the harness checks that
 * table and model agree on every grant and queue, that no two conflicting
 * grants coexist, that fencing tokens only grow, that no waiter jumps an
 * earlier conflicting one (conversions excepted), that the wait-for graph
 * stays acyclic and that no grantable waiter is left waiting; a failover
 * rebuilds the table from reclaims under a new epoch; at the end,
 * releasing everything grants every remaining waiter. fast-check prints the
 * seed and the shrunk sequence of a failure; replay with { seed, path }.
 */
const RUNS = Number(process.env.LOCK_TABLE_RUNS ?? 1000);

function ops(spaces: Space[], opts: { holders?: number; maxLength?: number } = {}): fc.Arbitrary<Op[]> {
  const holders = opts.holders ?? HOLDERS.length;
  const range = { s: fc.integer({ min: 0, max: 15 }), len: fc.integer({ min: 1, max: 8 }) };
  const wait = fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) });
  const timeoutMs = fc.option(fc.constantFrom(0, 30, 120, 400), { nil: undefined, freq: 2 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 10, arbitrary: fc.record({ t: fc.constant('acq' as const), h: fc.integer({ min: 0, max: holders - 1 }), r: fc.constantFrom(0, 0, 0, RESOURCES.length - 1), space: fc.constantFrom(...spaces), excl: fc.boolean(), ...range, wait, timeoutMs, noDirect: fc.boolean() }, { requiredKeys: ['t', 'h', 'r', 'space', 'excl', 's', 'len', 'wait'] }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('conv' as const), pick: fc.nat(), excl: fc.boolean(), ...range, wait, timeoutMs }, { requiredKeys: ['t', 'pick', 'excl', 's', 'len', 'wait'] }) },
    { weight: 5, arbitrary: fc.record({ t: fc.constant('rel' as const), pick: fc.nat() }) },
    { weight: 4, arbitrary: fc.record({ t: fc.constant('red' as const), pick: fc.nat(), excl: fc.boolean(), ...range, stale: fc.constantFrom(0, 0, 0, 1, 3, 4) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('evict' as const), session: fc.integer({ min: 0, max: SESSIONS.length - 1 }) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('rs' as const), session: fc.integer({ min: 0, max: SESSIONS.length - 1 }) }) },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('adv' as const), ms: fc.integer({ min: 0, max: 300 }) }) },
    { weight: 1, arbitrary: fc.constant({ t: 'epoch' as const }) },
    { weight: 1, arbitrary: fc.constant({ t: 'failover' as const }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('bad' as const), variant: fc.nat(), pick: fc.nat() }) },
  );
  // size 'max': lengths spread up to maxLength (the default favours short arrays, which rarely contend).
  return fc.array(op, { minLength: 1, maxLength: opts.maxLength ?? 40, size: 'max' });
}

function run(sequence: Op[]): void {
  const h = new Harness();
  for (const op of sequence) h.step(op);
  h.drain();
}

test('data tokens and range locks agree with the brute-force model under random operations', () => {
  fc.assert(fc.property(ops(['data', 'range']), run), { numRuns: RUNS });
});

test('range locks with four owners never deadlock silently and never grant out of order', () => {
  fc.assert(fc.property(ops(['range'], { maxLength: 60 }), run), { numRuns: RUNS });
});

test('data tokens with revocation, expansion and contention agree with the model', () => {
  fc.assert(fc.property(ops(['data', 'attr'], { maxLength: 60 }), run), { numRuns: RUNS });
});

test('data and attr tokens that ping-pong between sessions enter direct mode as the model predicts', (t) => {
  let directGrants = 0;
  fc.assert(fc.property(ops(['data', 'attr'], { maxLength: 80 }), (sequence) => {
    const h = new Harness();
    for (const op of sequence) h.step(op);
    directGrants += h.model.directGrants;
    h.drain();
  }), { numRuns: RUNS });
  t.diagnostic(`${directGrants} DIRECT grants in ${RUNS} runs`);
  assert.ok(directGrants > 0, 'no run reached direct mode: the property says nothing about it');
});

test('the model check catches a planted bug: DIRECT granted beside another host\'s WRITE', () => {
  const original = ResourceState.prototype.conflictingGranted;
  ResourceState.prototype.conflictingGranted = function (this: ResourceState, mode, holder, start, end) {
    const found = original.call(this, mode, holder, start, end);
    return mode === 'DIRECT' && found?.mode === 'WRITE' ? undefined : found;
  };
  try {
    const r = fc.check(fc.property(ops(['data', 'attr'], { maxLength: 80 }), run), { numRuns: RUNS * 4 });
    assert.equal(r.failed, true, 'the planted bug went unnoticed');
    assert.match(String(r.errorInstance), /conflicting grants|differ from the model|model/);
  } finally {
    ResourceState.prototype.conflictingGranted = original;
  }
});
