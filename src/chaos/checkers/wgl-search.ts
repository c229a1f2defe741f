/**
 * The Wing–Gong search with Lowe's memoisation (as in porcupine), for one
 * partition of a history: is there an order of the operations, each taking
 * effect at one instant between its call and its return, that a sequential
 * model accepts? Operations with an unknown outcome return at +Infinity
 * (pending forever) and need not be linearized: a model step that always
 * succeeds for them (a register write) can be placed at the end.
 */
export interface SearchOp<S> {
  callMs: number;
  /** Infinity: pending forever (its outcome is unknown). */
  returnMs: number;
  /** The model: the state after this op from `state`, or undefined if the op cannot happen in `state`. */
  step(state: S): S | undefined;
}

export type SearchOutcome = { kind: 'ok' } | { kind: 'illegal'; stuckOp: number; prefix: number[] } | { kind: 'timeout' };

interface Entry {
  op: number;
  isCall: boolean;
  time: number;
  match: number;
}

export function wglSearch<S>(ops: readonly SearchOp<S>[], init: S, stateKey: (s: S) => string, deadlineMs: number): SearchOutcome {
  const n = ops.length;
  if (n === 0) return { kind: 'ok' };
  const raw: Entry[] = [];
  ops.forEach((o, i) => {
    raw.push({ op: i, isCall: true, time: o.callMs, match: -1 });
    raw.push({ op: i, isCall: false, time: o.returnMs, match: -1 });
  });
  // Calls before returns at equal times: operations that touch are concurrent.
  raw.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const callIdx = new Array<number>(n);
  raw.forEach((e, i) => { if (e.isCall) callIdx[e.op] = i; });
  raw.forEach((e, i) => { if (!e.isCall) { e.match = callIdx[e.op]; raw[callIdx[e.op]].match = i; } });
  // Doubly-linked list over entries; index m = head sentinel.
  const m = raw.length;
  const next = new Int32Array(m + 1);
  const prev = new Int32Array(m + 1);
  for (let i = 0; i < m; i++) { next[i] = i + 1 < m ? i + 1 : -1; prev[i] = i === 0 ? m : i - 1; }
  next[m] = 0;
  prev[m] = -1;
  const lift = (c: number) => {
    const r = raw[c].match;
    next[prev[c]] = next[c];
    if (next[c] >= 0) prev[next[c]] = prev[c];
    next[prev[r]] = next[r];
    if (next[r] >= 0) prev[next[r]] = prev[r];
  };
  const unlift = (c: number) => {
    const r = raw[c].match;
    next[prev[r]] = r;
    if (next[r] >= 0) prev[next[r]] = r;
    next[prev[c]] = c;
    if (next[c] >= 0) prev[next[c]] = c;
  };
  const words = new Uint32Array((n + 31) >>> 5);
  const flip = (i: number) => { words[i >>> 5] ^= 1 << (i & 31); };
  const cache = new Set<string>();
  let definiteLeft = ops.filter((o) => o.returnMs !== Infinity).length;
  const calls: Array<{ entry: number; state: S }> = [];
  let state = init;
  let entry = next[m];
  let deepest = -1;
  let stuckOp = -1;
  let deepestPrefix: number[] = [];
  for (let iter = 0; definiteLeft > 0; iter++) {
    if ((iter & 1023) === 0 && performance.now() > deadlineMs) return { kind: 'timeout' };
    const e = entry >= 0 ? raw[entry] : undefined;
    if (e && e.isCall) {
      const after = ops[e.op].step(state);
      if (after !== undefined) {
        flip(e.op);
        const key = stateKey(after) + '|' + words.join(',');
        if (!cache.has(key)) {
          cache.add(key);
          calls.push({ entry, state });
          state = after;
          if (ops[e.op].returnMs !== Infinity) definiteLeft--;
          lift(entry);
          entry = next[m];
          continue;
        }
        flip(e.op);
      }
      entry = next[entry];
      continue;
    }
    // A return whose call could not be linearized before it (or the end): backtrack.
    if (calls.length > deepest) {
      deepest = calls.length;
      stuckOp = e ? e.op : -1;
      deepestPrefix = calls.map((c) => raw[c.entry].op);
    }
    const top = calls.pop();
    if (!top) return { kind: 'illegal', stuckOp, prefix: deepestPrefix };
    entry = top.entry;
    state = top.state;
    const op = raw[entry].op;
    flip(op);
    if (ops[op].returnMs !== Infinity) definiteLeft++;
    unlift(entry);
    entry = next[entry];
  }
  return { kind: 'ok' };
}
