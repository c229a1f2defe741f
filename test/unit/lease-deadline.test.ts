import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { LeaseDeadline } from '../../src/agent/client/lease-deadline';

test('the deadline is the acknowledged heartbeat\'s send time + TTL − drift, not the time of the ack', () => {
  const clock = new FakeClock(1000);
  const lease = new LeaseDeadline(clock, 100, () => undefined);
  lease.start(1000, 10_000);
  assert.equal(lease.ms, 10_900);
  clock.advance(3000); // heartbeat sent at 4000, acknowledged 2 s later
  const sentMs = clock.nowMs();
  clock.advance(2000);
  lease.confirmed(sentMs, 10_000);
  assert.equal(lease.ms, 13_900);
});

test('a late acknowledgement of an older heartbeat never moves the deadline back', () => {
  const clock = new FakeClock(0);
  const lease = new LeaseDeadline(clock, 0, () => undefined);
  lease.start(0, 5000);
  lease.confirmed(3000, 5000);
  lease.confirmed(1000, 5000);
  assert.equal(lease.ms, 8000);
});

test('the client is told exactly once when the deadline passes without a newer acknowledgement', () => {
  const clock = new FakeClock(0);
  let passed = 0;
  const lease = new LeaseDeadline(clock, 200, () => { passed++; });
  lease.start(0, 2000);
  clock.advance(1799);
  assert.equal(passed, 0);
  assert.equal(lease.passed(), false);
  clock.advance(1);
  assert.equal(passed, 1);
  assert.equal(lease.passed(), true);
  clock.advance(10_000);
  assert.equal(passed, 1);
});

test('an acknowledgement before the deadline pushes the fencing moment out', () => {
  const clock = new FakeClock(0);
  let passed = 0;
  const lease = new LeaseDeadline(clock, 0, () => { passed++; });
  lease.start(0, 2000);
  clock.advance(1500);
  lease.confirmed(1000, 2000);
  clock.advance(1000); // t = 2500: past the first deadline, before the new one (3000)
  assert.equal(passed, 0);
  clock.advance(500);
  assert.equal(passed, 1);
  lease.stop();
});

test('acknowledgements that arrive while grants are being reclaimed at a new leader do not extend the deadline', () => {
  const clock = new FakeClock(0);
  let passed = 0;
  const lease = new LeaseDeadline(clock, 0, () => { passed++; });
  lease.start(0, 2000);
  clock.advance(1000);
  lease.reclaiming();
  lease.confirmed(1000, 2000); // the new leader knows the session, not yet the grants
  assert.equal(lease.ms, 2000);
  clock.advance(1000);
  assert.equal(passed, 1, 'a reclaim still running at the old deadline leaves the host fenced');
  lease.stop();
});

test('once the grants are reclaimed the best acknowledgement seen meanwhile counts', () => {
  const clock = new FakeClock(0);
  const lease = new LeaseDeadline(clock, 0, () => undefined);
  lease.start(0, 2000);
  lease.reclaiming();
  lease.confirmed(1200, 2000);
  lease.confirmed(900, 2000);
  assert.equal(lease.ms, 2000);
  lease.reclaimed();
  assert.equal(lease.ms, 3200);
  lease.confirmed(1500, 2000);
  assert.equal(lease.ms, 3500);
  lease.stop();
});

test('a new session forgets a reclaim that never finished', () => {
  const clock = new FakeClock(0);
  const lease = new LeaseDeadline(clock, 0, () => undefined);
  lease.start(0, 2000);
  lease.reclaiming();
  lease.start(5000, 2000);
  lease.confirmed(6000, 2000);
  assert.equal(lease.ms, 8000);
  lease.stop();
});
