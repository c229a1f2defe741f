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
 * Before copying, each agent's replay point is fixed: its first retained
 * record that completed at most `replayWindowMs` before the scan began
 * (writes still dirty in an agent's cache at scan time are in the backing
 * store only later, but their records are in that window). The copy is then
 * made and those records replayed over it: replays are idempotent and a
 * suffix of every journal, so the mirror converges.
 */
export async function rescanJournals(input: RescanInput): Promise<RescanResult> {
  const cutoffMs = Date.now() - input.replayWindowMs;
  const replayFrom = new Map<string, number>();
  const stopped = new Map<string, string>();
  for (const a of input.agents) {
    const segments = await listSegments(a.dir);
    const stream = new JournalStream(a.dir, input.namespace, segments.length === 0 ? 0 : segments[0] - 1);
    let from: number | undefined;
    let last = stream.position;
    for (;;) {
      const read = await stream.read();
      for (const { record } of read.records) if (from === undefined && record.timeMs >= cutoffMs) from = record.sequence;
      if (read.corrupt) stopped.set(a.agentId, `corrupt journal record in ${read.corrupt.segment} at byte ${read.corrupt.offset}: ${read.corrupt.error}`);
      if (read.records.length === 0 || read.corrupt) break;
      last = stream.position;
    }
    if (!stopped.has(a.agentId)) replayFrom.set(a.agentId, from ?? last + 1);
  }
  const inodes = await rescanMirror(input.backingDir, input.mirrorDir, input.logger);
  return { inodes, replayFrom, stopped };
}
