import { test } from 'node:test';
import assert from 'node:assert/strict';
import { END_OF_FILE } from '../../src/common/byte-range';
import { InvalidArgumentError } from '../../src/common/errors';
import type { Grant, Holder, LockSpace } from '../../src/coordinator/lock-table/types';
import { A, B, C, setup } from './support/lock-table-fixture';

/** Direct mode (docs/direct-mode.md): entered on ping-pong, DIRECT shares with DIRECT only, left when one host is alone. */
type Ctx = ReturnType<typeof setup>;

/** `to` asks for WRITE; the holder answers the revoke by releasing; returns the grant `to` got. */
function handOver(ctx: Ctx, from: Grant, fromHolder: Holder, to: Holder, space: LockSpace = 'data'): Grant {
  const { table, req, of, clock } = ctx;
  const before = of('revoke').length;
  const r = table.acquire(req(to, space, 'WRITE', 0, 100));
  if (r !== 'queued') return r;
  const revoked = () => of('revoke').slice(before).some((e) => e.lockId === from.lockId);
  for (let i = 0; i < 1000 && !revoked(); i++) clock.advance(1);
  assert.ok(revoked(), 'the holder is revoked');
  table.release(from.lockId, fromHolder);
  const granted = of('granted').at(-1)?.grant;
  assert.ok(granted && granted.holder.sessionId === to.sessionId, 'the waiter got it');
  return granted;
}

/** A and B take turns writing until the resource is direct; returns the first DIRECT grant (and who holds it). */
function pingPongUntilDirect(ctx: Ctx, space: LockSpace = 'data'): { grant: Grant; holder: Holder; other: Holder; otherGrant: Grant } {
  let g = ctx.grant(ctx.req(A, space, 'WRITE', 0, 100));
  let [holder, other] = [A, B];
  for (let round = 0; round < 12; round++) {
    const next = handOver(ctx, g, holder, other, space);
    if (next.mode === 'DIRECT') return { grant: next, holder: other, other: holder, otherGrant: g };
    [g, holder, other] = [next, other, holder];
  }
  assert.fail('never entered direct mode');
}

test('tokens that ping-pong between two hosts enter direct mode: DIRECT over the whole file, the caching token revoked at once', () => {
  const ctx = setup();
  const { table, of, clock, req } = ctx;
  const { grant, holder, other } = pingPongUntilDirect(ctx);
  assert.deepEqual(grant.range, { start: 0, end: END_OF_FILE }, 'DIRECT covers the whole file');
  const revokes = of('revoke').filter((e) => e.attempt === 1);
  assert.equal(revokes.length, 2, 'A lost it to B; A asking it back from B is the ping-pong: its acquire is DIRECT, and B\'s WRITE goes for it');
  const last = revokes.at(-1);
  assert.equal(last?.wantedMode, 'DIRECT', 'the last revoke made room for DIRECT');
  const [info] = table.directResources();
  assert.equal(info.resource, 'ns/42');
  assert.match(info.reason, /ping-pong: data token asked back from the host it went to within 1000 ms/);
  // The other host asks again: DIRECT at once, beside the first one, no revoke, no hold time.
  const before = of('revoke').length;
  const second = table.acquire(req(other, 'data', 'READ', 5, 6));
  assert.notEqual(second, 'queued');
  assert.equal((second as Grant).mode, 'DIRECT');
  const attr = table.acquire(req(holder, 'attr', 'WRITE', 0, 1));
  assert.equal((attr as Grant).mode, 'DIRECT', 'the resource\'s attr tokens are direct too');
  clock.advance(500);
  assert.equal(of('revoke').length, before, 'no token traffic between DIRECT holders');
});

test('a DIRECT request revokes a fresh caching token without waiting for its minimum hold', () => {
  const ctx = setup({ minHoldMs: 150, maxHoldMs: 150 });
  const { table, of, clock, req } = ctx;
  // 150 ms holds: four revokes within a second still fit (each one waits out the hold).
  const { grant, holder, other } = pingPongUntilDirect(ctx);
  table.release(grant.lockId, holder);
  // A WRITE token granted this very moment (here: reclaimed, as after a failover).
  const fresh = table.reclaim({ lockId: 999, requestId: 'old', resource: 'ns/42', space: 'data', mode: 'WRITE', range: { start: 0, end: 10 }, holder: C, fencingToken: { epoch: 7, counter: 1 } });
  const t = clock.nowMs();
  assert.equal(table.acquire(req(other, 'data', 'READ', 0, 10)), 'queued', 'DIRECT waits for the WRITE token');
  const revoke = of('revoke').at(-1);
  assert.equal(clock.nowMs(), t);
  assert.deepEqual({ lockId: revoke?.lockId, wantedMode: revoke?.wantedMode }, { lockId: fresh.lockId, wantedMode: 'DIRECT' }, 'revoked at once, not 150 ms after its grant');
  table.release(fresh.lockId, C);
  assert.equal(of('granted').at(-1)?.grant.mode, 'DIRECT');
});

test('one host alone for 2 s leaves direct mode: its next acquire is a caching token again', () => {
  const ctx = setup();
  const { table, clock, req, of } = ctx;
  const { grant, holder, other } = pingPongUntilDirect(ctx);
  const otherDirect = table.acquire(req(other, 'data', 'READ', 0, 10)) as Grant;
  assert.equal(otherDirect.mode, 'DIRECT');
  // Both renew after a second: still shared, still direct.
  clock.advance(1000);
  table.release(grant.lockId, holder);
  const renewed = table.acquire(req(holder, 'data', 'WRITE', 0, 10)) as Grant;
  assert.equal(renewed.mode, 'DIRECT', 'the other host still holds DIRECT: shared');
  // The other host stops (its DIRECT token goes); the writer renews alone.
  table.release(otherDirect.lockId, other);
  clock.advance(1000);
  table.release(renewed.lockId, holder);
  const alone1 = table.acquire(req(holder, 'data', 'WRITE', 0, 10)) as Grant;
  assert.equal(alone1.mode, 'DIRECT', 'alone for only 1 s: still direct');
  clock.advance(1000);
  table.release(alone1.lockId, holder);
  const cached = table.acquire(req(holder, 'data', 'WRITE', 0, 10)) as Grant;
  assert.equal(cached.mode, 'WRITE', 'alone for 2 s: caching again');
  assert.deepEqual(cached.range, { start: 0, end: END_OF_FILE }, 'and the grant is expanded as before');
  assert.deepEqual(table.directResources(), []);
  assert.deepEqual(table.directCounters(), { active: 0, entered: 1, left: 1 });
  assert.equal(of('revoke').filter((e) => e.wantedMode === 'DIRECT').length >= 1, true);
});

test('one host losing its token to others in turn is contention, not ping-pong: no direct mode', () => {
  const ctx = setup();
  const { table, req, clock, of } = ctx;
  for (let i = 0; i < 5; i++) {
    const a = ctx.grant(req(A, 'data', 'WRITE', 0, 100));
    const r = table.acquire(req(i % 2 === 0 ? B : C, 'data', 'WRITE', 0, 100));
    for (let t = 0; t < 300 && !of('revoke').some((e) => e.lockId === a.lockId); t++) clock.advance(1);
    table.release(a.lockId, A);
    const g = r === 'queued' ? of('granted').at(-1)?.grant as Grant : r;
    assert.notEqual(g.mode, 'DIRECT');
    table.release(g.lockId, g.holder);
  }
  assert.deepEqual(table.directResources(), [], 'every revoke hit host A');
});

test('a DIRECT token is never reduced to a caching mode: a revoke answer may only release it', () => {
  const ctx = setup();
  const { table, req } = ctx;
  const { grant, holder, other } = pingPongUntilDirect(ctx);
  assert.throws(() => table.reduce({ lockId: grant.lockId, holder, version: grant.version, mode: 'READ', range: grant.range }),
    (e: unknown) => e instanceof InvalidArgumentError && e.reason === 'PROTOCOL_VIOLATION');
  assert.throws(() => table.acquire(req(other, 'dir', 'DIRECT', 0, 1)), (e: unknown) => e instanceof InvalidArgumentError && e.reason === 'INVALID_MODE');
  assert.throws(() => table.acquire(req(other, 'range', 'DIRECT', 0, 1)), (e: unknown) => e instanceof InvalidArgumentError && e.reason === 'INVALID_MODE');
});

test('an acquire marked noDirect (its host\'s kernel caches the file) is granted as asked in direct mode, and the DIRECT tokens in its way are revoked at once', () => {
  const ctx = setup();
  const { table, req, of, clock } = ctx;
  const { grant, holder, other } = pingPongUntilDirect(ctx);
  const t = clock.nowMs();
  const r = table.acquire({ ...req(other, 'data', 'READ', 0, 10), noDirect: true });
  assert.equal(r, 'queued', 'it waits for the DIRECT token');
  assert.deepEqual({ lockId: of('revoke').at(-1)?.lockId, at: clock.nowMs() }, { lockId: grant.lockId, at: t }, 'the DIRECT holder is revoked at once: it cached nothing under it');
  table.release(grant.lockId, holder);
  const cached = of('granted').at(-1)?.grant as Grant;
  assert.equal(cached.mode, 'READ', 'a caching token, not DIRECT');
  assert.equal(table.directResources().length, 1, 'the resource is still direct for the others');
  // noDirect in the attr space too; and it must be a boolean.
  assert.equal((table.acquire(req(other, 'attr', 'READ', 0, 1)) as Grant).mode, 'DIRECT', 'unmarked: DIRECT');
  const attr = table.acquire({ ...req(holder, 'attr', 'READ', 0, 1), noDirect: true });
  assert.equal(attr, 'queued', 'marked: a caching attr token, which waits for the other host\'s DIRECT one');
  assert.throws(() => table.acquire({ ...req(other, 'data', 'READ', 0, 1), noDirect: 'yes' as unknown as boolean }), (e: unknown) => e instanceof InvalidArgumentError && e.reason === 'INVALID_ARGUMENT');
});

test('a token granted noDirect keeps its minimum hold against a DIRECT writer, so its host can read to the end before the next write takes it', () => {
  const ctx = setup();
  const { table, req, of, clock } = ctx;
  const { grant, holder, other } = pingPongUntilDirect(ctx);
  assert.equal(table.acquire({ ...req(other, 'data', 'READ', 0, 10), noDirect: true }), 'queued');
  table.release(grant.lockId, holder);
  const cached = of('granted').at(-1)?.grant as Grant;
  const grantedAt = clock.nowMs();
  const before = of('revoke').length;
  assert.equal(table.acquire(req(holder, 'data', 'WRITE', 0, 10)), 'queued', 'the writer\'s DIRECT acquire waits');
  assert.equal(of('revoke').length, before, 'not revoked at once');
  for (let i = 0; i < 1000 && of('revoke').length === before; i++) clock.advance(1);
  const revoke = of('revoke').at(-1);
  assert.deepEqual({ lockId: revoke?.lockId, wantedMode: revoke?.wantedMode }, { lockId: cached.lockId, wantedMode: 'DIRECT' });
  assert.equal(clock.nowMs() - grantedAt, 10, 'revoked after the shortest hold (minHoldMs 10), not before it nor after the adaptive one');
});
