import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoopSlicer } from '../../src/common/loop-slicer';
import { steppedSlicer } from './support/stepped-slicer';

test('work submitted while the slice has time runs at once, in order', () => {
  const { slicer } = steppedSlicer(100);
  const ran: number[] = [];
  for (let i = 0; i < 5; i++) slicer.submit(() => ran.push(i));
  assert.deepEqual(ran, [0, 1, 2, 3, 4]);
});

test('work past the slice waits for the loop to come round, first submitted first run', () => {
  const { slicer, nextSlice, drain } = steppedSlicer(10);
  const ran: number[] = [];
  for (let i = 0; i < 100; i++) slicer.submit(() => ran.push(i));
  assert.ok(ran.length > 0 && ran.length < 100, `ran ${ran.length} in the first slice`);
  const first = ran.length;
  nextSlice();
  assert.ok(ran.length > first && ran.length < 100, 'the next slice runs some more, not all');
  assert.ok(drain() > 3, 'several more slices');
  assert.deepEqual(ran, Array.from({ length: 100 }, (_, i) => i));
});

test('work submitted from submitted work runs once that work is done, in submission order (never nested)', () => {
  const { slicer, drain } = steppedSlicer(1000);
  const ran: string[] = [];
  slicer.submit(() => { slicer.submit(() => ran.push('b')); ran.push('a'); });
  slicer.submit(() => ran.push('c'));
  drain();
  assert.deepEqual(ran, ['a', 'b', 'c']);
});

test('a new slice gets a new number, and overBudget is false at its start', () => {
  const { slicer, nextSlice } = steppedSlicer(5);
  assert.equal(slicer.overBudget(), false);
  const s = slicer.slice;
  while (!slicer.overBudget()) { /* spend the slice */ }
  assert.equal(slicer.slice, s, 'same slice while it lasts');
  nextSlice();
  assert.equal(slicer.overBudget(), false);
  assert.equal(slicer.slice, s + 1);
});

test('work that throws is reported and the rest still runs', () => {
  const errors: unknown[] = [];
  const slicer = new LoopSlicer({ sliceMs: 1000, defer: () => undefined, onError: (e) => errors.push(e) });
  const ran: number[] = [];
  slicer.submit(() => { throw new Error('boom'); });
  slicer.submit(() => ran.push(1));
  assert.deepEqual(ran, [1]);
  assert.equal((errors[0] as Error).message, 'boom');
});
