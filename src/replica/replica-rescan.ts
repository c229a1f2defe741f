import { Clock } from '../common/clock';
import { Logger } from '../common/logger';
import { listSegments } from '../agent/journal/journal-dir';
import { InodeMap } from './inode-map';
import { JournalStream } from './journal-stream';
import { rescanMirror } from './mirror-rescan';

export interface RescanInput {
  backingDir: string;
  mirrorDir: string;
  namespace: string;
  agents: Array<{ agentId: string; dir: string }>;
  replayWindowMs: number;
  /** How long after the replay point every write before it is surely flushed by its agent (write-back delay and a margin). */
  settleMs: number;
  clock: Clock;
  logger: Logger;
}

export interface RescanResult {
  inodes: InodeMap;
  /** Per agent, the first sequence to replay over the copy. */
  replayFrom: Map<string, number>;
  /** Agents whose journal could not be read (corrupt): why. */
  stopped: Map<string, string>;
}

/**
 * A full resync when the replica fell behind what the journals still hold.
 *
 * Before copying, one replay point in time is fixed for every agent: the
 * window's start (`replayWindowMs` before the scan: writes still dirty in an
 * agent's cache at scan time reach the backing store later, but their
 * records are in that window), moved later to the first retained record of
 * any agent whose journal was truncated inside the window. Replaying over a
 * newer copy converges only if every record after the replay point, of every
 * agent, is replayed: a record whose undoing was cut off another journal
 * (a create in a directory that host then removed) would otherwise come
 * back. When the point moved, the scan waits until `settleMs` after it, so
 * that what was dirty before it is in the copy.
 */
export async function rescanJournals(input: RescanInput): Promise<RescanResult> {
  const stopped = new Map<string, string>();
  const journals = new Map<string, JournalTimes>();
  for (const a of input.agents) {
    const times = await readTimes(a.dir, input.namespace);
    if (times.corrupt) stopped.set(a.agentId, times.corrupt);
    else journals.set(a.agentId, times);
  }
  let replayPointMs = Date.now() - input.replayWindowMs;
  for (const t of journals.values()) {
    if (t.truncated && t.records.length > 0 && t.records[0].timeMs > replayPointMs) replayPointMs = t.records[0].timeMs;
  }
  const settleUntil = replayPointMs + input.settleMs;
  if (Date.now() < settleUntil) {
    input.logger.info('replica rescan waits for writes before the replay point to be flushed', { waitMs: settleUntil - Date.now() });
    await new Promise<void>((resolve) => input.clock.setTimer(settleUntil - Date.now(), resolve));
  }
  const replayFrom = new Map<string, number>();
  for (const [agentId, t] of journals) replayFrom.set(agentId, t.records.find((r) => r.timeMs >= replayPointMs)?.sequence ?? t.next);
  const inodes = await rescanMirror(input.backingDir, input.mirrorDir, input.logger);
  return { inodes, replayFrom, stopped };
}

interface JournalTimes {
  records: Array<{ sequence: number; timeMs: number }>;
  /** Records before the first retained one were removed. */
  truncated: boolean;
  /** The sequence after the last retained record. */
  next: number;
  corrupt?: string;
}

async function readTimes(dir: string, namespace: string): Promise<JournalTimes> {
  const segments = await listSegments(dir);
  const first = segments.length === 0 ? 1 : segments[0];
  const stream = new JournalStream(dir, namespace, first - 1);
  const records: JournalTimes['records'] = [];
  for (;;) {
    const read = await stream.read();
    for (const { record } of read.records) records.push({ sequence: record.sequence, timeMs: record.timeMs });
    if (read.corrupt) return { records, truncated: first > 1, next: stream.position + 1, corrupt: `corrupt journal record in ${read.corrupt.segment} at byte ${read.corrupt.offset}: ${read.corrupt.error}` };
    if (read.records.length === 0) return { records, truncated: first > 1, next: stream.position + 1 };
  }
}
