import { createHash } from 'crypto';
import { JournalRecord } from './journal-record';

const NEWLINE = Buffer.from('\n');
/** Largest write data one record may carry (FUSE sends at most 128 KiB; the backing store accepts 16 MiB). */
export const MAX_PAYLOAD = 64 * 1024 * 1024;
const SUM_LENGTH = 64;

/**
 * On-disk form of one record: `<sha256 hex> <json>\n`, then for a write its
 * raw bytes and `\n` (the JSON says how many: `payloadLength`). The checksum
 * covers the JSON and the bytes, so a flipped bit, a torn write or an
 * edited record is detected before anything is applied. The data is not
 * put in the JSON: base64 and JSON escaping cost ~1 ms per 128 KiB write.
 */
export function encodeRecord(record: JournalRecord): Buffer[] {
  const { payload, ...rest } = record;
  const json = JSON.stringify(payload ? { ...rest, payloadLength: payload.length } : rest);
  const hash = createHash('sha256').update(json);
  if (payload) hash.update(payload);
  const header = Buffer.from(`${hash.digest('hex')} ${json}\n`);
  return payload ? [header, payload, NEWLINE] : [header];
}

export type DecodeResult = { record: JournalRecord; length: number } | { error: string } | { incomplete: true };

/** Decodes the record at `start` of `buf`; never throws. `incomplete`: its bytes are not all there (yet). */
export function decodeAt(buf: Buffer, start: number): DecodeResult {
  const nl = buf.indexOf(0x0a, start);
  if (nl < 0) return { incomplete: true };
  const line = buf.toString('utf8', start, nl);
  if (line.length < SUM_LENGTH + 3 || line[SUM_LENGTH] !== ' ') return { error: 'malformed record (no checksum)' };
  const sum = line.slice(0, SUM_LENGTH);
  const json = line.slice(SUM_LENGTH + 1);
  let parsed: (Partial<JournalRecord> & { payloadLength?: unknown }) | null;
  try {
    parsed = JSON.parse(json);
  } catch {
    return { error: createHash('sha256').update(json).digest('hex') === sum ? 'checksum matches but JSON does not parse' : 'checksum mismatch' };
  }
  const payloadLength = parsed?.payloadLength ?? 0;
  if (!Number.isSafeInteger(payloadLength) || (payloadLength as number) < 0 || (payloadLength as number) > MAX_PAYLOAD) {
    return { error: 'record has a bad payload length' };
  }
  const payloadEnd = nl + 1 + (payloadLength as number);
  const hash = createHash('sha256').update(json);
  let length = nl + 1 - start;
  let payload: Buffer | undefined;
  if ((payloadLength as number) > 0) {
    if (payloadEnd + 1 > buf.length) return { incomplete: true };
    if (buf[payloadEnd] !== 0x0a) return { error: 'record data not followed by its newline' };
    payload = buf.subarray(nl + 1, payloadEnd);
    hash.update(payload);
    length = payloadEnd + 1 - start;
  }
  if (hash.digest('hex') !== sum) return { error: 'checksum mismatch' };
  const r = parsed as Partial<JournalRecord> & { payloadLength?: number };
  if (typeof r !== 'object' || r === null || typeof r.op !== 'string' || typeof r.path !== 'string'
    || !Number.isSafeInteger(r.sequence) || (r.sequence as number) < 1 || typeof r.args !== 'object' || r.args === null) {
    return { error: 'record lacks op, path, args or a positive sequence' };
  }
  delete r.payloadLength;
  return { record: payload ? { ...(r as JournalRecord), payload } : (r as JournalRecord), length };
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
