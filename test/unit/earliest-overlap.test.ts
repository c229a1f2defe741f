import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RankedNode, earliestOverlap, findOverlap, insertNode, nextPriority, removeNode } from '../../src/coordinator/lock-table/interval-tree';
import { Holder } from '../../src/coordinator/lock-table/types';
import { A, setup } from './support/lock-table-fixture';

class Node implements RankedNode<Node> {
  left: Node | null = null;
  right: Node | null = null;
  prio = nextPriority();
  maxEnd: number;
  minRank: number;
  constructor(readonly start: number, readonly end: number, readonly tie: number, readonly rank: number, readonly owner: number) {
    this.maxEnd = end;
    this.minRank = rank;
  }
}

/** A seeded generator, so a failure replays. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

type Search = (root: Node | null, start: number, end: number, pred: (n: Node) => boolean) => Node | undefined;

/** Random inserts, removals and queries (seeded); the first query where `search` disagrees with a scan of every node. */
function firstMismatch(search: Search): string | undefined {
  const rnd = random(15);
  let root: Node | null = null;
  const live: Node[] = [];
  for (let step = 0; step < 20_000; step++) {
    if (live.length > 0 && rnd() < 0.3) {
      const [gone] = live.splice(Math.floor(rnd() * live.length), 1);
      root = removeNode(root, gone);
    } else {
      const start = Math.floor(rnd() * 1000);
      // unique ranks in random order
      const n = new Node(start, start + 1 + Math.floor(rnd() * 100), step, Math.floor(rnd() * 2 ** 20) * 2 ** 15 + step, step % 7);
      root = insertNode(root, n);
      live.push(n);
    }
    if (step % 10 !== 0) continue;
    const qs = Math.floor(rnd() * 1000);
    const qe = qs + 1 + Math.floor(rnd() * 200);
    const skipOwner = step % 7;
    const pred = (n: Node) => n.owner !== skipOwner;
    let expected: Node | undefined;
    for (const n of live) if (n.start < qe && n.end > qs && pred(n) && (expected === undefined || n.rank < expected.rank)) expected = n;
    if (search(root, qs, qe, pred) !== expected) return `step ${step}: [${qs}, ${qe})`;
  }
  return undefined;
}

test('earliestOverlap finds what a scan of every node finds, across inserts, removals and predicates', () => {
  assert.equal(firstMismatch((root, s, e, pred) => earliestOverlap(root, s, e, pred)), undefined);
});

test('planted bug: the scan comparison catches a search that returns the first overlap in key order instead', () => {
  assert.notEqual(firstMismatch((root, s, e, pred) => findOverlap(root, s, e, pred)), undefined);
});

test('the revoke of a token names the earliest of 10,000 waiters it blocks, also after the first 5,000 are cancelled', () => {
  const { table, req, grant, of, clock } = setup({ maxWaitersPerSession: 20_000, maxWaitersPerResource: 20_000 });
  grant(req(A, 'data', 'WRITE', 0, 1_000_000));
  const ids: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    // Later waiters ask for lower ranges, so tree order (by start) is the reverse of queue order.
    const start = (10_000 - i) * 10;
    const r = req({ sessionId: `s${i % 50}`, owner: '' } as Holder, 'data', 'READ', start, start + 10);
    ids.push(r.requestId);
    assert.equal(table.acquire(r), 'queued');
  }
  clock.advance(300);
  assert.deepEqual(of('revoke')[0].range, { start: 100_000, end: 100_010 }, 'the first waiter queued');
  for (const id of ids.slice(0, 5000)) assert.equal(table.cancel(id), true);
  const before = of('revoke').length;
  clock.advance(2000);
  const resent = of('revoke').slice(before);
  assert.ok(resent.length > 0, 'resent');
  assert.deepEqual(resent.at(-1)!.range, { start: 50_000, end: 50_010 }, 'now the 5,001st waiter, the earliest left');
});
