import { RunHistory } from '../history/history-file';
import { Operation } from '../history/operation';
import { CREATED_THEN } from '../traffic/file-worker-main';
import { CheckResult, Violation, groupBy } from './check-result';
import { DEFAULT_BUDGET_MS } from './register-linearizability';
import { SearchOp, wglSearch } from './wgl-search';

export const NAMESPACE = 'namespace';

/** A pair of names (slot 0: pN-a, slot 1: pN-b): null absent, else present with that content. */
type PairState = readonly [string | null, string | null];

/** The content of a name whose create made it but failed to write its value (never a workload value). */
const UNKNOWN = '\u0000unknown';

const NAME = /^(.*\/p\d+)-([ab])$/;

/** 'names/p0-a' → { pair: 'names/p0', slot: 0 }. */
function parseName(name: string): { pair: string; slot: 0 | 1 } | undefined {
  const m = NAME.exec(name);
  return m ? { pair: m[1], slot: m[2] === 'a' ? 0 : 1 } : undefined;
}

/** What an operation of the names workload says, in the model's terms; undefined: it says nothing (left out). */
interface NameStep {
  pair: string;
  op: Operation;
  step(s: PairState): PairState | undefined;
}

function set(s: PairState, slot: 0 | 1, v: string | null): PairState {
  return slot === 0 ? [v, s[1]] : [s[0], v];
}

function toStep(o: Operation): NameStep | undefined {
  const [from, to] = o.key.split('>');
  const n = parseName(from);
  if (!n) return undefined;
  const { pair, slot } = n;
  const absent = o.result === 'fail' && o.error === 'ENOENT';
  const done = o.result === 'ok' || o.result === 'info';
  const mk = (step: NameStep['step']): NameStep => ({ pair, op: o, step });
  switch (o.type) {
    case 'name-create': {
      // Its open made the name but its write failed: present, content unknown.
      const v = o.error?.startsWith(CREATED_THEN) ? UNKNOWN : String(o.value ?? '');
      if (done) return mk((s) => (s[slot] === null ? set(s, slot, v) : undefined));
      if (o.result === 'fail' && o.error === 'EEXIST') return mk((s) => (s[slot] !== null ? s : undefined));
      return undefined;
    }
    case 'name-unlink':
      if (done) return mk((s) => (s[slot] !== null ? set(s, slot, null) : undefined));
      return absent ? mk((s) => (s[slot] === null ? s : undefined)) : undefined;
    case 'name-rename': {
      const t = to === undefined ? undefined : parseName(to);
      if (!t || t.pair !== pair || t.slot === slot) return undefined;
      if (done) return mk((s) => (s[slot] !== null ? set(set(s, t.slot, s[slot]), slot, null) : undefined));
      return absent ? mk((s) => (s[slot] === null ? s : undefined)) : undefined;
    }
    case 'name-stat':
    case 'name-read': {
      if (absent) return mk((s) => (s[slot] === null ? s : undefined));
      if (o.result !== 'ok') return undefined;
      // An empty read is a file between its O_EXCL open and the write of its value: present, content unknown.
      const v = o.type === 'name-read' && o.value ? String(o.value) : undefined;
      return mk((s) => (s[slot] !== null && (v === undefined || s[slot] === v || s[slot] === UNKNOWN) ? s : undefined));
    }
    default:
      return undefined;
  }
}

/**
 * Namespace coherence of the names workload: per pair of names, the
 * creates (O_EXCL), unlinks, renames (a→b or b→a, replacing the target),
 * stats and reads of every host must be linearizable against "each name
 * absent, or present with the value its create wrote". A definite ENOENT
 * or EEXIST is an observation; an ambiguous mutation may have happened at
 * any time after its call (it is pending forever); other failures and
 * ENOMOUNT (the mount was gone) say nothing. A stale name on one host —
 * a create another host finished that it still does not see, or a name
 * it still sees after an unlink finished elsewhere — has no order. Same
 * WGL search and budget rule as the register check: undecided is "unknown".
 */
export function checkNamespace(h: RunHistory, budgetMs = DEFAULT_BUDGET_MS): CheckResult {
  const t0 = performance.now();
  const deadline = t0 + budgetMs;
  const violations: Violation[] = [];
  const undecided: string[] = [];
  const steps = h.ops.filter((o) => o.type.startsWith('name-')).map(toStep).filter((s): s is NameStep => s !== undefined);
  for (const [pair, list] of groupBy(steps, (s) => s.pair)) {
    const search: SearchOp<PairState>[] = list.map((s) => ({
      callMs: s.op.invokeMs,
      returnMs: s.op.result === 'info' || s.op.completeMs === null ? Infinity : s.op.completeMs,
      step: s.step,
    }));
    const out = wglSearch<PairState>(search, [null, null], (s) => JSON.stringify(s), deadline);
    if (out.kind === 'timeout') undecided.push(pair);
    else if (out.kind === 'illegal') violations.push(violation(pair, list.map((s) => s.op), out.stuckOp, out.prefix));
  }
  const verdict = violations.length > 0 ? 'fail' : undecided.length > 0 ? 'unknown' : 'pass';
  const note = undecided.length > 0 ? `time budget of ${budgetMs} ms ran out before deciding ${undecided.join(', ')}` : undefined;
  return { checker: NAMESPACE, verdict, violations, checkedOps: steps.length, elapsedMs: performance.now() - t0, note };
}

/** The op no order explains, then the last mutation of its name that completed before it was called, then the explained prefix's tail. */
function violation(pair: string, ops: Operation[], stuckOp: number, prefix: number[]): Violation {
  const stuck = ops[stuckOp] as Operation | undefined;
  const name = stuck?.key.split('>')[0];
  const touches = (o: Operation) => o.key.split('>').includes(name ?? '');
  const lastChange = stuck
    ? ops.filter((o) => o !== stuck && touches(o) && /^name-(create|unlink|rename)$/.test(o.type) && o.result === 'ok' && o.completeMs !== null && o.completeMs < stuck.invokeMs).pop()
    : undefined;
  const tail = prefix.slice(-3).map((i) => ops[i]).reverse();
  const ids = [...new Set([stuck, lastChange, ...tail].filter((o): o is Operation => o !== undefined).map((o) => o.id))];
  const describe = (o: Operation) => `${o.process}'s ${o.type.slice(5)} of ${o.key} (${o.result}${o.error ? ` ${o.error}` : ''}${o.value !== undefined ? ` ${JSON.stringify(o.value)}` : ''}) at ${o.invokeMs.toFixed(1)}–${o.completeMs === null ? '?' : o.completeMs.toFixed(1)} ms`;
  return {
    checker: NAMESPACE,
    key: pair,
    atMs: stuck ? stuck.invokeMs : 0,
    ops: ids,
    message: `${pair}-a/b: no order of the names' operations explains ${stuck ? describe(stuck) : 'the history'}${lastChange ? `; last change of that name completed before it: ${describe(lastChange)}` : ''} (longest explained prefix: ${prefix.length} of ${ops.length} ops)`,
  };
}
