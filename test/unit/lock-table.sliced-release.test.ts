import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { LockTable } from '../../src/coordinator/lock-table';
import type { Grant, LockTableEvent, WaiterInfo } from '../../src/coordinator/lock-table/types';
import { steppedSlicer } from './support/stepped-slicer';

const END = Number.MAX_SAFE_INTEGER;
const SEEDS = 400;
const OPS = 200;

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const compatible = (a: string, b: string) => a === b && (a === 'READ' || a === 'DIRECT');

/**
 * Tokens of three hosts on two files, hosts dying (their sessions freed in
 * slices) and coming back as new sessions, revokes answered by releasing,
 * time passing and slice boundaries anywhere; then everyone alive keeps
 * answering revokes until nothing moves. Returns what is wrong at the end:
 * a dead session still holding a grant, or a first waiter that nothing blocks.
 */
function runSeed(seed: number): string | undefined {
  const r = random(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const { slicer, nextSlice, drain } = steppedSlicer(1 + Math.floor(r() * 6));
  const clock = new FakeClock(0);
  const events: LockTableEvent[] = [];
  const table = new LockTable({ clock, epoch: 1, onEvent: (e) => events.push(e), slicer });
  let alive = ['s0', 's1', 's2'];
  let next = 3;
  let n = 0;
  const answerRevokes = (p: number) => {
    for (const e of events.splice(0)) {
      if (e.kind !== 'revoke' || !alive.includes(e.holder.sessionId) || r() >= p) continue;
      try { table.release(e.lockId, e.holder); } catch { /* already gone */ }
    }
  };
  for (let i = 0; i < OPS; i++) {
    const x = r();
    try {
      if (x < 0.4) {
        const holder = { sessionId: pick(alive), owner: '' };
        table.acquire({ requestId: `${holder.sessionId}/${n++}`, resource: pick(['ns/1', 'ns/2']), space: pick(['dir', 'attr', 'data'] as const), mode: pick(['READ', 'WRITE'] as const), range: { start: 0, end: END }, holder, wait: true });
      } else if (x < 0.55) {
        const mine = table.dump().grants.filter((g) => alive.includes(g.holder.sessionId));
        if (mine.length > 0) { const g = pick(mine); table.release(g.lockId, g.holder); }
      } else if (x < 0.62) {
        const s = pick(alive);
        alive = [...alive.filter((a) => a !== s), `s${next++}`];
        table.releaseSession(s);
      } else if (x < 0.8) {
        nextSlice();
      } else {
        clock.advance(Math.floor(r() * 300));
      }
    } catch { /* refused requests are part of the traffic */ }
    answerRevokes(0.8);
  }
  for (let k = 0; k < 50; k++) {
    drain();
    clock.advance(1000);
    drain();
    answerRevokes(1);
  }
  const { grants, waiters } = table.dump();
  const dead = grants.find((g) => !alive.includes(g.holder.sessionId));
  if (dead) return `dead session ${dead.holder.sessionId} still holds ${JSON.stringify(dead)}`;
  const firstWaiters = new Map<string, WaiterInfo>();
  for (const w of waiters) if (!firstWaiters.has(w.resource + w.space)) firstWaiters.set(w.resource + w.space, w);
  for (const w of firstWaiters.values()) {
    const blockers = grants.filter((g: Grant) => g.resource === w.resource && g.space === w.space && g.holder.sessionId !== w.holder.sessionId && !compatible(g.mode, w.mode));
    if (blockers.length === 0) return `waiter ${JSON.stringify(w)} is queued behind nothing`;
  }
  return undefined;
}

test('sessions freed in slices, whatever the slice boundaries: no dead session keeps a grant, no waiter stays queued behind nothing', () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const wrong = runSeed(seed);
    assert.equal(wrong, undefined, `seed ${seed}: ${wrong}`);
  }
});
