import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { INLINE_SLICER } from '../../src/common/loop-slicer';
import { PacedClock } from '../../src/common/paced-clock';
import { steppedSlicer } from './support/stepped-slicer';

test('timers fire in order of due time, none early, behind one timer of the base clock', () => {
  const base = new FakeClock(0);
  const clock = new PacedClock(base, INLINE_SLICER);
  const fired: Array<[string, number]> = [];
  for (const [name, ms] of [['c', 30], ['a', 10], ['b', 20], ['a2', 10]] as const) clock.setTimer(ms, () => fired.push([name, base.nowMs()]));
  assert.equal(base.pendingTimers(), 1, 'one base timer for four');
  base.advance(15);
  assert.deepEqual(fired, [['a', 10], ['a2', 10]]);
  base.advance(100);
  assert.deepEqual(fired.map(([n]) => n), ['a', 'a2', 'b', 'c']);
  assert.ok(fired.every(([n, at]) => at >= { a: 10, a2: 10, b: 20, c: 30 }[n]!));
  assert.equal(base.pendingTimers(), 0);
});

test('10,000 timers due together run in several slices, all of them, in order', () => {
  const base = new FakeClock(0);
  const { slicer, nextSlice, drain } = steppedSlicer(500);
  const clock = new PacedClock(base, slicer);
  const fired: number[] = [];
  for (let i = 0; i < 10_000; i++) clock.setTimer(4000, () => fired.push(i));
  base.advance(4000);
  assert.ok(fired.length > 0 && fired.length < 10_000, `first slice ran ${fired.length}`);
  nextSlice();
  const slices = 1 + drain();
  assert.ok(slices >= 10, `${slices} slices`);
  assert.equal(fired.length, 10_000);
  assert.deepEqual(fired, Array.from({ length: 10_000 }, (_, i) => i));
  assert.equal(clock.pendingTimers(), 0);
});

test('a cancelled timer never fires, and an earlier one set later re-arms the base timer', () => {
  const base = new FakeClock(0);
  const clock = new PacedClock(base, INLINE_SLICER);
  const fired: string[] = [];
  const late = clock.setTimer(100, () => fired.push('late'));
  clock.setTimer(50, () => fired.push('early'));
  const handles = Array.from({ length: 1000 }, (_, i) => clock.setTimer(60 + i, () => fired.push('cancelled')));
  for (const h of handles) h.cancel();
  late.cancel();
  assert.equal(clock.pendingTimers(), 1);
  base.advance(10_000);
  assert.deepEqual(fired, ['early']);
});

test('a timer that throws does not stop the timers after it', () => {
  const base = new FakeClock(0);
  const clock = new PacedClock(base, INLINE_SLICER);
  const fired: string[] = [];
  clock.setTimer(10, () => { throw new Error('boom'); });
  clock.setTimer(10, () => fired.push('after'));
  assert.throws(() => base.advance(10), /boom/);
  base.advance(0);
  assert.deepEqual(fired, ['after']);
});
