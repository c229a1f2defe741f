import { createHash } from 'crypto';
import { crc32c } from './crc32c';
import { JournalRecord } from './journal-record';

const NEWLINE = Buffer.from('\n');
/** Largest write data one record may carry (FUSE sends at most 128 KiB; the backing store accepts 16 MiB). */
export const MAX_PAYLOAD = 64 * 1024 * 1024;
/** The checksum field: 8 hex digits of CRC-32C; journals written before it have 64 of SHA-256 (still read). */
const CRC_LENGTH = 8;
const SHA256_LENGTH = 64;

const crcHex = (crc: number): string => crc.toString(16).padStart(CRC_LENGTH, '0');

/**
 * On-disk form of one record: `<crc32c hex> <json>\n`, then for a write its
 * raw bytes and `\n` (the JSON says how many: `payloadLength`). The checksum
 * covers the JSON and the bytes, so a flipped bit, a torn write or an
 * edited record is detected before anything is applied (as SHA-256 did,
 * which checked no more: anybody could recompute either; CRC-32C costs
 * ~0.05 ms per MiB of payload against SHA-256's 0.66-0.9 here). The data is not put
 * in the JSON: base64 and JSON escaping cost ~1 ms per 128 KiB write.
 */
export function encodeRecord(record: JournalRecord): Buffer[] {
  const { payload, ...rest } = record;
  const json = Buffer.from(JSON.stringify(payload ? { ...rest, payloadLength: payload.length } : rest));
  let crc = crc32c(json);
  if (payload) crc = crc32c(payload, crc);
  const header = Buffer.concat([Buffer.from(`${crcHex(crc)} `), json, NEWLINE]);
  return payload ? [header, payload, NEWLINE] : [header];
}

export type DecodeResult = { record: JournalRecord; length: number } | { error: string } | { incomplete: true };

/** The checksum over a record's JSON bytes and payload, in the form its sum field has (`length` hex digits). */
function checksum(length: number, json: Buffer, payload: Buffer | undefined): string {
  if (length === CRC_LENGTH) return crcHex(payload ? crc32c(payload, crc32c(json)) : crc32c(json));
  const hash = createHash('sha256').update(json);
  if (payload) hash.update(payload);
  return hash.digest('hex');
}

/** Decodes the record at `start` of `buf`; never throws. `incomplete`: its bytes are not all there (yet). */
export function decodeAt(buf: Buffer, start: number): DecodeResult {
  const nl = buf.indexOf(0x0a, start);
  if (nl < 0) return { incomplete: true };
  const sumLength = buf[start + CRC_LENGTH] === 0x20 ? CRC_LENGTH : buf[start + SHA256_LENGTH] === 0x20 ? SHA256_LENGTH : 0;
  if (sumLength === 0 || nl - start < sumLength + 3) return { error: 'malformed record (no checksum)' };
  const sum = buf.toString('latin1', start, start + sumLength);
  const jsonBytes = buf.subarray(start + sumLength + 1, nl);
  let parsed: (Partial<JournalRecord> & { payloadLength?: unknown }) | null;
  try {
    parsed = JSON.parse(jsonBytes.toString('utf8'));
  } catch {
    return { error: checksum(sumLength, jsonBytes, undefined) === sum ? 'checksum matches but JSON does not parse' : 'checksum mismatch' };
  }
  const payloadLength = parsed?.payloadLength ?? 0;
  if (!Number.isSafeInteger(payloadLength) || (payloadLength as number) < 0 || (payloadLength as number) > MAX_PAYLOAD) {
    return { error: 'record has a bad payload length' };
  }
  const payloadEnd = nl + 1 + (payloadLength as number);
  let length = nl + 1 - start;
  let payload: Buffer | undefined;
  if ((payloadLength as number) > 0) {
    if (payloadEnd + 1 > buf.length) return { incomplete: true };
    if (buf[payloadEnd] !== 0x0a) return { error: 'record data not followed by its newline' };
    payload = buf.subarray(nl + 1, payloadEnd);
    length = payloadEnd + 1 - start;
  }
  if (checksum(sumLength, jsonBytes, payload) !== sum) return { error: 'checksum mismatch' };
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
