/**
 * An intrusive augmented treap of half-open intervals, keyed by
 * (start, tie) and augmented with the largest end in each subtree.
 *
 * The nodes are the lock table's own objects (granted entries, waiters),
 * so a tree costs no allocation beyond them. A tree is just its root:
 * every function takes a root and returns the new one. Expected depth is
 * O(log n); overlap searches prune on `maxEnd` and on the key, so finding
 * one overlapping node is O(log n + skipped), where "skipped" are
 * overlapping nodes the caller's predicate rejects.
 */
export interface IntervalNode<N> {
  start: number;
  end: number;
  /** Second key: unique among the nodes of one tree (lock id, queue sequence). */
  tie: number;
  prio: number;
  maxEnd: number;
  left: N | null;
  right: N | null;
  /** Optional second augmentation (waiters: their queue order): a node with a rank keeps its subtree's smallest in minRank. */
  readonly rank?: number;
  minRank?: number;
}

/** A node ranked in a total order (queue order for waiters). */
export interface RankedNode<N> extends IntervalNode<N> {
  readonly rank: number;
  minRank: number;
}

let seed = 0x2545f491;
/** Treap priorities: a fixed-seed xorshift, so runs are reproducible. */
export function nextPriority(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
}

function before<N extends IntervalNode<N>>(a: N, b: N): boolean {
  return a.start < b.start || (a.start === b.start && a.tie < b.tie);
}

function update<N extends IntervalNode<N>>(n: N): void {
  let m = n.end;
  if (n.left !== null && n.left.maxEnd > m) m = n.left.maxEnd;
  if (n.right !== null && n.right.maxEnd > m) m = n.right.maxEnd;
  n.maxEnd = m;
  const rank = n.rank;
  if (rank !== undefined) {
    let r = rank;
    if (n.left !== null && (n.left.minRank as number) < r) r = n.left.minRank as number;
    if (n.right !== null && (n.right.minRank as number) < r) r = n.right.minRank as number;
    n.minRank = r;
  }
}

/** Splits t into nodes ordered before `key` and the rest. */
function split<N extends IntervalNode<N>>(t: N | null, key: N): [N | null, N | null] {
  if (t === null) return [null, null];
  if (before(t, key)) {
    const [l, r] = split(t.right, key);
    t.right = l;
    update(t);
    return [t, r];
  }
  const [l, r] = split(t.left, key);
  t.left = r;
  update(t);
  return [l, t];
}

function merge<N extends IntervalNode<N>>(a: N | null, b: N | null): N | null {
  if (a === null) return b;
  if (b === null) return a;
  if (a.prio > b.prio) {
    a.right = merge(a.right, b);
    update(a);
    return a;
  }
  b.left = merge(a, b.left);
  update(b);
  return b;
}

export function insertNode<N extends IntervalNode<N>>(t: N | null, n: N): N {
  if (t === null || n.prio > t.prio) {
    const [l, r] = split(t, n);
    n.left = l;
    n.right = r;
    update(n);
    return n;
  }
  if (before(n, t)) t.left = insertNode(t.left, n);
  else t.right = insertNode(t.right, n);
  update(t);
  return t;
}

/** Removes n, which must be in the tree. */
export function removeNode<N extends IntervalNode<N>>(t: N | null, n: N): N | null {
  if (t === null) throw new Error('interval tree: node not found');
  if (t === n) {
    const rest = merge(n.left, n.right);
    n.left = null;
    n.right = null;
    return rest;
  }
  if (before(n, t)) t.left = removeNode(t.left, n);
  else t.right = removeNode(t.right, n);
  update(t);
  return t;
}

/** The first node (in key order) overlapping [start, end) that pred accepts. */
export function findOverlap<N extends IntervalNode<N>>(t: N | null, start: number, end: number, pred: (n: N) => boolean): N | undefined {
  while (t !== null && t.maxEnd > start) {
    const found = findOverlap(t.left, start, end, pred);
    if (found !== undefined) return found;
    if (t.start >= end) return undefined;
    if (t.end > start && pred(t)) return t;
    t = t.right;
  }
  return undefined;
}

/**
 * The overlapping node of smallest rank that pred accepts, or `best` if
 * none ranks below it. Branch and bound on minRank (the subtree of smaller
 * minRank first): O(log n) when the answer is found along one path, plus
 * the lower-ranked nodes pred rejects or that do not overlap.
 */
export function earliestOverlap<N extends RankedNode<N>>(t: N | null, start: number, end: number, pred: (n: N) => boolean, best?: N): N | undefined {
  if (t === null || t.maxEnd <= start || (best !== undefined && t.minRank >= best.rank)) return best;
  if (t.start < end && t.end > start && (best === undefined || t.rank < best.rank) && pred(t)) best = t;
  // Right of t everything starts at or after t.start: nothing there overlaps once t.start >= end.
  const right = t.start < end ? t.right : null;
  const left = t.left;
  if (right !== null && (left === null || right.minRank < left.minRank)) {
    best = earliestOverlap(right, start, end, pred, best);
    return earliestOverlap(left, start, end, pred, best);
  }
  best = earliestOverlap(left, start, end, pred, best);
  return earliestOverlap(right, start, end, pred, best);
}

/** Calls fn for every node overlapping [start, end), in key order. */
export function forEachOverlap<N extends IntervalNode<N>>(t: N | null, start: number, end: number, fn: (n: N) => void): void {
  while (t !== null && t.maxEnd > start) {
    forEachOverlap(t.left, start, end, fn);
    if (t.start >= end) return;
    if (t.end > start) fn(t);
    t = t.right;
  }
}

/** The largest end among accepted nodes that start before `start` (or `best` if none is larger). */
export function maxEndBefore<N extends IntervalNode<N>>(t: N | null, start: number, pred: (n: N) => boolean, best: number): number {
  while (t !== null && t.maxEnd > best) {
    if (t.start < start) {
      best = maxEndBefore(t.right, start, pred, best);
      if (t.end > best && pred(t)) best = t.end;
    }
    t = t.left;
  }
  return best;
}

/** The first accepted node (in key order) that starts at or after `start`. */
export function firstAtOrAfter<N extends IntervalNode<N>>(t: N | null, start: number, pred: (n: N) => boolean): N | undefined {
  while (t !== null) {
    if (t.start >= start) {
      const found = firstAtOrAfter(t.left, start, pred);
      if (found !== undefined) return found;
      if (pred(t)) return t;
    }
    t = t.right;
  }
  return undefined;
}

/** Calls fn for every node in key order. */
export function forEachNode<N extends IntervalNode<N>>(t: N | null, fn: (n: N) => void): void {
  while (t !== null) {
    forEachNode(t.left, fn);
    fn(t);
    t = t.right;
  }
}
