import { promises as fsp } from 'node:fs';
import { InvalidArgumentError } from '../../common/errors';
import { FaultRecord, HistoryLine, LeaseRecord, Operation, RunMeta } from './operation';

/** A whole run: what it was started with, every operation and every fault window. */
export interface RunHistory {
  meta: RunMeta;
  ops: Operation[];
  faults: FaultRecord[];
  /** Agents' lease deadlines over the run (absent in histories of older versions). */
  leases?: LeaseRecord[];
}

const OP_TYPES = new Set(['lock', 'unlock', 'store-write', 'read', 'write', 'append', 'final-read', 'create', 'rename', 'unlink', 'name-create', 'name-unlink', 'name-rename', 'name-stat', 'name-read']);
const RESULTS = new Set(['ok', 'fail', 'info']);

export function historyToJsonl(h: RunHistory): string {
  const lines: HistoryLine[] = [{ kind: 'meta', ...h.meta }, ...h.faults.map((f) => ({ kind: 'fault' as const, ...f })), ...(h.leases ?? []).map((l) => ({ kind: 'lease' as const, ...l })), ...h.ops.map((o) => ({ kind: 'op' as const, ...o }))];
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

export async function writeHistory(file: string, h: RunHistory): Promise<void> {
  await fsp.writeFile(file, historyToJsonl(h));
}

function bad(line: number, what: string): never {
  throw new InvalidArgumentError('INVALID_ARGUMENT', `history line ${line}: ${what}`, { line });
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function checkOp(o: Record<string, unknown>, n: number): Operation {
  if (!Number.isInteger(o.id)) bad(n, 'op without an integer id');
  if (typeof o.process !== 'string' || typeof o.host !== 'string' || typeof o.key !== 'string') bad(n, 'op needs string process, host and key');
  if (!OP_TYPES.has(o.type as string)) bad(n, `unknown op type ${JSON.stringify(o.type)}`);
  if (!RESULTS.has(o.result as string)) bad(n, `unknown result ${JSON.stringify(o.result)}`);
  if (!isTime(o.invokeMs)) bad(n, 'op without a numeric invokeMs');
  if (o.completeMs !== null && !isTime(o.completeMs)) bad(n, 'completeMs must be a number or null');
  if (isTime(o.completeMs) && o.completeMs < o.invokeMs) bad(n, 'op completes before it was invoked');
  if (o.result !== 'info' && o.completeMs === null) bad(n, `an ${o.result} op must have completeMs`);
  const t = o.fencingToken as { epoch?: unknown; counter?: unknown } | undefined;
  if (t !== undefined && (!Number.isInteger(t.epoch) || !Number.isInteger(t.counter))) bad(n, 'fencingToken needs integer epoch and counter');
  const { kind: _kind, ...op } = o;
  return op as unknown as Operation;
}

/** Parses history.jsonl, rejecting malformed lines with their line number. */
export function parseHistory(text: string): RunHistory {
  let meta: RunMeta | undefined;
  const ops: Operation[] = [];
  const faults: FaultRecord[] = [];
  const leases: LeaseRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (!raw) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      bad(i + 1, 'not JSON');
    }
    if (o === null || typeof o !== 'object') bad(i + 1, 'not an object');
    if (o.kind === 'op') ops.push(checkOp(o, i + 1));
    else if (o.kind === 'fault') {
      if (typeof o.fault !== 'string' || !isTime(o.startMs)) bad(i + 1, 'fault needs a name and startMs');
      const { kind: _k, ...f } = o;
      faults.push(f as unknown as FaultRecord);
    } else if (o.kind === 'lease') {
      if (typeof o.host !== 'string' || !isTime(o.atMs) || (o.deadlineMs !== null && !isTime(o.deadlineMs))) bad(i + 1, 'lease needs a host, atMs and a numeric or null deadlineMs');
      leases.push({ host: o.host, atMs: o.atMs, deadlineMs: o.deadlineMs as number | null });
    } else if (o.kind === 'meta') {
      const { kind: _k, ...m } = o;
      meta = m as unknown as RunMeta;
    } else bad(i + 1, `unknown line kind ${JSON.stringify(o.kind)}`);
  }
  const ids = new Set<number>();
  for (const op of ops) {
    if (ids.has(op.id)) throw new InvalidArgumentError('INVALID_ARGUMENT', `history: duplicate op id ${op.id}`);
    ids.add(op.id);
  }
  return { meta: meta ?? { seed: 0, startedAt: '', durationMs: 0, options: {} }, ops, faults, ...(leases.length ? { leases } : {}) };
}

export async function readHistory(file: string): Promise<RunHistory> {
  return parseHistory(await fsp.readFile(file, 'utf8'));
}
