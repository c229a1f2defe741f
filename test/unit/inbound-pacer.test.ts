import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InboundPacer } from '../../src/coordinator/inbound-pacer';
import { steppedSlicer } from './support/stepped-slicer';

function pacedStream(opsPerSlice: number) {
  const s = steppedSlicer(opsPerSlice);
  const handled: number[] = [];
  const state = { open: true, paused: false, pauses: 0 };
  const pacer = new InboundPacer<number>(s.slicer, {
    handle: (m) => handled.push(m),
    isOpen: () => state.open,
    pause: () => { state.paused = true; state.pauses++; },
    resume: () => { state.paused = false; },
  });
  return { ...s, pacer, handled, state };
}

test('a flood on one stream is handled over several slices, every message once, in arrival order', () => {
  const { pacer, handled, drain } = pacedStream(20);
  for (let i = 0; i < 1000; i++) pacer.take(i);
  assert.ok(handled.length > 0 && handled.length < 1000, `${handled.length} in the first slice`);
  assert.ok(drain() > 10);
  assert.deepEqual(handled, Array.from({ length: 1000 }, (_, i) => i));
});

test('a message that arrives while others wait goes behind them, even in a fresh slice', () => {
  const { pacer, handled, nextSlice, drain } = pacedStream(20);
  for (let i = 0; i < 100; i++) pacer.take(i);
  nextSlice();
  pacer.take(100);
  drain();
  assert.deepEqual(handled, Array.from({ length: 101 }, (_, i) => i));
});

test('a stream sending now and then is handled at once even when the slice is used up', () => {
  const flood = pacedStream(20);
  const light = new InboundPacer<string>(flood.slicer, { handle: () => { flood.handled.push(-1); }, isOpen: () => true, pause: () => undefined, resume: () => undefined });
  for (let i = 0; i < 200; i++) flood.pacer.take(i);
  const before = flood.handled.length;
  light.take('light');
  assert.equal(flood.handled.length, before + 1, 'handled without waiting for a slice');
  assert.equal(flood.handled.at(-1), -1);
});

test('what waits is dropped once the stream is done, and the call is paused only past the backlog bound', () => {
  const { pacer, handled, state, drain } = pacedStream(20);
  for (let i = 0; i < 60_000; i++) pacer.take(i);
  assert.equal(state.pauses, 1, 'paused once past 50,000 waiting');
  state.open = false;
  drain();
  assert.ok(handled.length < 60_000);
  assert.equal(state.paused, false, 'resumed after the backlog went');
});

test('without a slicer every message is handled at once', () => {
  const handled: number[] = [];
  const pacer = new InboundPacer<number>(undefined, { handle: (m) => handled.push(m), isOpen: () => true, pause: () => undefined, resume: () => undefined });
  for (let i = 0; i < 1000; i++) pacer.take(i);
  assert.equal(handled.length, 1000);
});
