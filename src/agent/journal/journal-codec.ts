import { createHash } from 'crypto';
import { JournalRecord } from './journal-record';

/**
 * On-disk form of one record: `<sha256 of json, hex> <json>\n`. The
 * checksum covers every byte of the JSON, so a flipped bit, a torn write or
 * an edited record is detected before anything is applied.
 */
export function encodeRecord(record: JournalRecord): Buffer {
  const json = JSON.stringify(record);
  const sum = createHash('sha256').update(json).digest('hex');
  return Buffer.from(`${sum} ${json}\n`);
}

export type DecodeResult = { record: JournalRecord } | { error: string };

const SUM_LENGTH = 64;

/** Decodes one line (without its newline); never throws. */
export function decodeRecord(line: string): DecodeResult {
  if (line.length < SUM_LENGTH + 3 || line[SUM_LENGTH] !== ' ') return { error: 'malformed record (no checksum)' };
  const sum = line.slice(0, SUM_LENGTH);
  const json = line.slice(SUM_LENGTH + 1);
  if (createHash('sha256').update(json).digest('hex') !== sum) return { error: 'checksum mismatch' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return { error: 'checksum matches but JSON does not parse' };
  }
  const r = parsed as Partial<JournalRecord>;
  if (typeof r !== 'object' || r === null || typeof r.op !== 'string' || typeof r.path !== 'string'
    || !Number.isSafeInteger(r.sequence) || (r.sequence as number) < 1 || typeof r.args !== 'object' || r.args === null) {
    return { error: 'record lacks op, path, args or a positive sequence' };
  }
  return { record: r as JournalRecord };
}

/** Segment file name for records starting at `firstSequence`. */
export function segmentName(firstSequence: number): string {
  return `seg-${String(firstSequence).padStart(16, '0')}.jnl`;
}

/** The first sequence of a segment file name, or undefined if the name is not a segment's. */
export function segmentFirstSequence(name: string): number | undefined {
  const m = /^seg-(\d{16})\.jnl$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Name of the file that identifies a journal directory (agent id, namespace). */
export const JOURNAL_META = 'journal-meta.json';
/** Subdirectory holding one acknowledgement file per registered replica. */
export const REPLICAS_DIR = 'replicas';

export interface JournalMeta {
  agentId: string;
  namespace: string;
  createdMs: number;
}

/** What a replica writes into `<journal>/replicas/<name>.json`. */
export interface ReplicaAck {
  name: string;
  /** fsync on the agent waits for this replica's ack (DRBD protocol C). */
  sync: boolean;
  /** Every record up to this sequence is durable on the replica's mirror. */
  acked: number;
  wallMs: number;
}
