import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostTimers, MAX_TIMER_CHUNK_MS, SystemClock } from '../../src/common/clock';

/** Host timers on a virtual time line: records every delay armed and fires only when told. */
class VirtualHost implements HostTimers {
  nowMs = 0;
  armed: number[] = [];
  private pending: Array<{ dueMs: number; fn: () => void; id: number }> = [];
  private nextId = 1;

  setTimeout(fn: () => void, ms: number): unknown {
    this.armed.push(ms);
    // Node's rule: a delay that does not fit a signed 32-bit int becomes 1 ms.
    const effective = ms > MAX_TIMER_CHUNK_MS ? 1 : ms;
    const id = this.nextId++;
    this.pending.push({ dueMs: this.nowMs + effective, fn, id });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  /** Moves virtual time to `toMs`, firing due timers in order. */
  advanceTo(toMs: number): void {
    for (;;) {
      this.pending.sort((a, b) => a.dueMs - b.dueMs);
      const next = this.pending[0];
      if (next === undefined || next.dueMs > toMs) break;
      this.pending.shift();
      this.nowMs = next.dueMs;
      next.fn();
    }
    this.nowMs = toMs;
  }

  get pendingCount(): number {
    return this.pending.length;
  }
}

function clockOn(host: VirtualHost): SystemClock {
  const clock = new SystemClock(host);
  clock.nowMs = () => host.nowMs;
  return clock;
}

test('a delay of 2^31 ms is waited for in chunks Node honours, not fired at once', () => {
  const host = new VirtualHost();
  const clock = clockOn(host);
  let fired = 0;
  clock.setTimer(2 ** 31, () => { fired++; });
  host.advanceTo(1000);
  assert.equal(fired, 0);
  host.advanceTo(2 ** 31 - 1);
  assert.equal(fired, 0);
  host.advanceTo(2 ** 31);
  assert.equal(fired, 1);
  assert.ok(host.armed.every((ms) => ms <= MAX_TIMER_CHUNK_MS), `armed ${host.armed.join(',')}`);
});

test('2^53−1 and 2^63−1 ms never fire within years and never arm an overflowing host timer', () => {
  for (const delay of [Number.MAX_SAFE_INTEGER, 2 ** 63 - 1, Infinity]) {
    const host = new VirtualHost();
    const clock = clockOn(host);
    let fired = false;
    clock.setTimer(delay, () => { fired = true; });
    host.advanceTo(10 * 365 * 24 * 3600 * 1000);
    assert.equal(fired, false, `delay ${delay}`);
    assert.equal(host.pendingCount, 1, 'exactly one host timer armed at a time');
    assert.ok(host.armed.every((ms) => ms <= MAX_TIMER_CHUNK_MS));
  }
});

test('cancelling between chunks stops the timer for good', () => {
  const host = new VirtualHost();
  const clock = clockOn(host);
  let fired = false;
  const t = clock.setTimer(3 * MAX_TIMER_CHUNK_MS, () => { fired = true; });
  host.advanceTo(MAX_TIMER_CHUNK_MS + 5);
  t.cancel();
  assert.equal(host.pendingCount, 0);
  host.advanceTo(10 * MAX_TIMER_CHUNK_MS);
  assert.equal(fired, false);
});

test('short, zero, negative and NaN delays arm one timer and fire once', () => {
  for (const [delay, expectMs] of [[5, 5], [0, 0], [-10, 0], [NaN, 0]] as const) {
    const host = new VirtualHost();
    const clock = clockOn(host);
    let fired = 0;
    clock.setTimer(delay, () => { fired++; });
    host.advanceTo(100);
    assert.equal(fired, 1, `delay ${delay}`);
    assert.deepEqual(host.armed, [expectMs]);
  }
});

test('a late chunk does not push the due time back: the rest is measured on the clock', () => {
  const host = new VirtualHost();
  const clock = clockOn(host);
  let firedAt = -1;
  clock.setTimer(MAX_TIMER_CHUNK_MS + 1000, () => { firedAt = host.nowMs; });
  // the process was suspended: the first chunk runs 600 ms late
  host.advanceTo(MAX_TIMER_CHUNK_MS - 1);
  (host as unknown as { pending: Array<{ dueMs: number }> }).pending[0].dueMs += 600;
  host.advanceTo(MAX_TIMER_CHUNK_MS + 2000);
  assert.equal(firedAt, MAX_TIMER_CHUNK_MS + 1000);
  assert.equal(host.armed[1], 400);
});
