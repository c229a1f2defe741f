import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { FencingToken } from '../coordinator/lock-table/types';
import { InternalError } from '../common/errors';
import { decodeAt, segmentName } from '../agent/journal/journal-codec';
import { listSegments } from '../agent/journal/journal-dir';
import { JournalStream } from './journal-stream';
import { LagSamples } from './lag-samples';
import { AgentCursor, readState } from './replica-state';

export interface AgentStatus {
  agentId: string;
  cursor: number;
  /** Records in the journal after the cursor. */
  lagRecords: number;
  lagBytes: number;
  /** How long ago the oldest unapplied record's op completed; 0 when caught up. */
  lagSeconds: number;
  lastToken: FencingToken | null;
  stopped?: string;
}

export interface LiveStatus {
  pid: number;
  updatedWallMs: number;
  lagP50Ms: number | null;
  lagP99Ms: number | null;
  samples: number;
}

export interface ReplicaStatus {
  name: string;
  namespace: string;
  mirror: string;
  rescans: number;
  agents: AgentStatus[];
  live?: LiveStatus;
}

export const LIVE_FILE = 'replica-live.json';

/** Writes the follower's lag quantiles where `coherd replica status` reads them (replaced by rename). */
export async function writeLiveStatus(stateDir: string, lag: LagSamples): Promise<void> {
  const live: LiveStatus = { pid: process.pid, updatedWallMs: Date.now(), lagP50Ms: lag.quantile(0.5), lagP99Ms: lag.quantile(0.99), samples: lag.count };
  const file = nodePath.join(stateDir, LIVE_FILE);
  await fsp.writeFile(`${file}.tmp`, JSON.stringify(live));
  await fsp.rename(`${file}.tmp`, file);
}

/** `coherd replica status`: the saved cursors against what each journal holds now. */
export async function replicaStatus(stateDir: string, nowWallMs = Date.now()): Promise<ReplicaStatus> {
  const data = await readState(stateDir);
  if (!data) throw new InternalError('INTERNAL', 'no replica state in this directory (has the replica run?)', { stateDir });
  const agents: AgentStatus[] = [];
  for (const c of Object.values(data.agents)) agents.push(await agentStatus(c, data.namespace, nowWallMs));
  const live = await fsp.readFile(nodePath.join(stateDir, LIVE_FILE), 'utf8').then((t) => JSON.parse(t) as LiveStatus).catch(() => undefined);
  return { name: data.name, namespace: data.namespace, mirror: data.mirror, rescans: data.rescans, agents, ...(live ? { live } : {}) };
}

/** One agent's cursor against what its journal holds now (read from the cursor to the end, or to a bad record). */
export async function agentStatus(c: AgentCursor, namespace: string, nowWallMs = Date.now()): Promise<AgentStatus> {
  const stream = new JournalStream(c.dir, namespace, c.applied);
  let lagRecords = 0;
  let lagBytes = 0;
  let oldest: number | undefined;
  for (;;) {
    const read = await stream.read();
    if (read.records.length === 0) break;
    oldest ??= read.records[0].record.timeMs;
    lagRecords += read.records.length;
    lagBytes += read.bytes;
    if (read.corrupt || read.gap) break;
  }
  // Past a bad record the stream cannot be read: the journal's last record still tells how far behind.
  lagRecords = Math.max(lagRecords, (await lastSequence(c.dir)) - c.applied);
  return {
    agentId: c.agentId, cursor: c.applied, lagRecords, lagBytes,
    lagSeconds: oldest === undefined ? 0 : Math.max(0, (nowWallMs - oldest) / 1000),
    lastToken: c.lastToken, ...(c.stopped ? { stopped: c.stopped } : {}),
  };
}

/** The sequence of the last whole, valid record of a journal directory (0 if none). */
async function lastSequence(dir: string): Promise<number> {
  const segments = await listSegments(dir);
  if (segments.length === 0) return 0;
  const data = await fsp.readFile(nodePath.join(dir, segmentName(segments[segments.length - 1]))).catch(() => Buffer.alloc(0));
  let last = segments[segments.length - 1] - 1;
  for (let start = 0; start < data.length;) {
    const decoded = decodeAt(data, start);
    if (!('record' in decoded)) {
      // Past a bad record the sequence goes on: count by the records' own framing where it still holds.
      if ('incomplete' in decoded) break;
      const nl = data.indexOf(0x0a, start);
      if (nl < 0) break;
      start = nl + 1;
      continue;
    }
    last = decoded.record.sequence;
    start += decoded.length;
  }
  return last;
}
