import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { decodeAt, segmentName } from '../agent/journal/journal-codec';
import { JournalRecord } from '../agent/journal/journal-record';
import { listSegments } from '../agent/journal/journal-dir';

/** What one read of an agent's journal found. */
export interface StreamRead {
  records: Array<{ record: JournalRecord; bytes: number }>;
  /** Bytes of the records returned. */
  bytes: number;
  /** The next record the replica needs was truncated away (it must rescan). */
  gap?: { wanted: number; firstAvailable: number };
  /** A record failed its checksum, broke the sequence, or was cut short: the stream stops here. */
  corrupt?: { segment: string; offset: number; error: string };
}

/** Largest slice of a segment read at once. */
const READ_CHUNK = 8 * 1024 * 1024;

/**
 * Follows one agent's journal directory from a cursor (the last sequence
 * applied): reads whole records from the segment files, checks each
 * record's checksum, namespace and sequence (exactly cursor + 1), and
 * moves to the next segment once the current one is read to its end.
 */
export class JournalStream {
  private segment: number | undefined;
  private offset = 0;
  /** Bytes of journal not yet returned, as of the last read (for lag). */
  backlogBytes = 0;

  constructor(readonly dir: string, readonly namespace: string, private cursor: number) {}

  /** The last sequence returned (or the starting cursor). */
  get position(): number {
    return this.cursor;
  }

  /** Starts over at `cursor` (after a rescan). */
  reset(cursor: number): void {
    this.cursor = cursor;
    this.segment = undefined;
    this.offset = 0;
  }

  async read(maxBytes = READ_CHUNK): Promise<StreamRead> {
    const out: StreamRead = { records: [], bytes: 0 };
    const segments = await listSegments(this.dir);
    if (segments.length === 0) return out;
    if (this.segment === undefined || !segments.includes(this.segment)) {
      const candidates = segments.filter((first) => first <= this.cursor + 1);
      if (candidates.length === 0) {
        out.gap = { wanted: this.cursor + 1, firstAvailable: segments[0] };
        return out;
      }
      this.segment = candidates[candidates.length - 1];
      this.offset = 0;
    }
    for (;;) {
      const name = segmentName(this.segment);
      const data = await readFrom(nodePath.join(this.dir, name), this.offset, maxBytes);
      if (data === null) { // removed under us: find our place again next time
        this.segment = undefined;
        return out;
      }
      const later = segments.filter((s) => s > this.segment!);
      const stop = this.consume(data, name, out, later.length > 0);
      if (stop === 0 && out.records.length === 0 && !out.corrupt && data.length === maxBytes) {
        maxBytes *= 2; // one record larger than a read: read more at once
        continue;
      }
      this.backlogBytes = data.length - (stop ?? data.length);
      if (out.corrupt || stop !== undefined || later.length === 0 || out.bytes >= maxBytes) return out;
      this.segment = later[0];
      this.offset = 0;
    }
  }

  /** Decodes whole records of `data`; returns where it stopped inside data (undefined: consumed all). */
  private consume(data: Buffer, name: string, out: StreamRead, hasLater: boolean): number | undefined {
    let start = 0;
    while (start < data.length) {
      const decoded = decodeAt(data, start);
      if ('incomplete' in decoded) {
        // A record is being written, unless the agent already moved on to a later segment.
        if (hasLater && data.length < READ_CHUNK) out.corrupt = { segment: name, offset: this.offset, error: 'truncated record at the end of a closed segment' };
        return start;
      }
      if ('error' in decoded) {
        out.corrupt = { segment: name, offset: this.offset, error: decoded.error };
        return start;
      }
      const r = decoded.record;
      if (r.namespace !== this.namespace) {
        out.corrupt = { segment: name, offset: this.offset, error: `record of namespace "${r.namespace}" in a "${this.namespace}" journal` };
        return start;
      }
      if (r.sequence > this.cursor + 1) {
        out.corrupt = { segment: name, offset: this.offset, error: `sequence jumps from ${this.cursor} to ${r.sequence}` };
        return start;
      }
      this.offset += decoded.length;
      start += decoded.length;
      if (r.sequence <= this.cursor) continue; // already applied (resuming inside a segment)
      this.cursor = r.sequence;
      out.records.push({ record: r, bytes: decoded.length });
      out.bytes += decoded.length;
    }
    return undefined;
  }
}

async function readFrom(path: string, offset: number, maxBytes: number): Promise<Buffer | null> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.max(0, Math.min(size - offset, maxBytes));
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buffer.subarray(0, done);
  } finally {
    await handle.close();
  }
}
