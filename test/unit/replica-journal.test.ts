import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/common/logger';
import { crc32c, crc32cPortable } from '../../src/agent/journal/crc32c';
import { decodeAt, encodeRecord, REPLICAS_DIR } from '../../src/agent/journal/journal-codec';
import { JournalRecord } from '../../src/agent/journal/journal-record';
import { listSegments } from '../../src/agent/journal/journal-dir';
import { SegmentedJournal } from '../../src/agent/journal/segmented-journal';
import { JournalStream } from '../../src/replica/journal-stream';

const logger = silentLogger();
let root: string;
let n = 0;

function record(sequence: number, extra: Partial<JournalRecord> = {}): JournalRecord {
  const payload = Buffer.from(`data of ${sequence}\n with a newline inside`);
  return {
    namespace: 'ns', ino: 10, op: 'write', path: '/f', fencingToken: { epoch: 1, counter: sequence }, sequence, timeMs: 1000 + sequence,
    args: { data: { length: payload.length }, offset: 0 }, payload, ...extra,
  };
}

async function freshDir(): Promise<string> {
  const dir = nodePath.join(root, `j${++n}`);
  return dir;
}

async function writeAck(dir: string, name: string, acked: number, sync = false): Promise<void> {
  await fsp.writeFile(nodePath.join(dir, REPLICAS_DIR, `${name}.json`), JSON.stringify({ name, sync, acked, wallMs: 0 }));
}

describe('journal records on disk', () => {
  it('round-trips a record, its data framed after its checksummed header', () => {
    const bytes = Buffer.concat(encodeRecord(record(7)));
    const decoded = decodeAt(bytes, 0);
    assert.ok('record' in decoded);
    assert.deepEqual(decoded.record, record(7));
    assert.equal(decoded.length, bytes.length);
  });

  it('detects a flipped byte in the header or the data, and a record without checksum; waits on a cut one', () => {
    const bytes = Buffer.concat(encodeRecord(record(7)));
    const header = bytes.indexOf(0x0a);
    for (const at of [100, header + 3]) {
      const flipped = Buffer.from(bytes);
      flipped[at] ^= 0x01;
      assert.deepEqual(decodeAt(flipped, 0), { error: 'checksum mismatch' }, `byte ${at}`);
    }
    assert.deepEqual(decodeAt(bytes.subarray(0, bytes.length - 5), 0), { incomplete: true });
    assert.ok('error' in decodeAt(Buffer.from(JSON.stringify(record(7)) + '\n'), 0));
  });
});

describe('journal checksums', () => {
  it('computes CRC-32C (the standard check value of "123456789" is e3069283), continuing a previous checksum as over the concatenation', () => {
    assert.equal(crc32c(Buffer.from('123456789')).toString(16), 'e3069283');
    const a = Buffer.from('journal header '), b = randomBytes(100_003);
    assert.equal(crc32c(b, crc32c(a)), crc32c(Buffer.concat([a, b])));
    assert.equal(crc32c(Buffer.alloc(0)), 0);
    assert.throws(() => (crc32c as (x: unknown) => number)('not a buffer'), /Buffer/);
  });

  it('gives the table fallback\'s sum on the three-stream SSE4.2 path, at every length around its block sizes', () => {
    const lengths = [0, 1, 7, 8, 9, 767, 768, 769, 775, 24_575, 24_576, 24_577, 24_576 + 768 + 3, 100_003, 1 << 20];
    for (const n of lengths) {
      const data = randomBytes(n);
      for (const previous of [0, 0xdeadbeef]) assert.equal(crc32c(data, previous), crc32cPortable(data, previous), `${n} bytes from ${previous}`);
    }
    assert.equal(crc32cPortable(Buffer.from('123456789')).toString(16), 'e3069283');
  });

  it('still reads a record journaled with a SHA-256 checksum (journals written before CRC-32C), and detects a flip in it', () => {
    const { payload, ...rest } = record(7);
    const json = JSON.stringify({ ...rest, payloadLength: payload!.length });
    const sum = createHash('sha256').update(json).update(payload!).digest('hex');
    const bytes = Buffer.concat([Buffer.from(`${sum} ${json}\n`), payload!, Buffer.from('\n')]);
    const decoded = decodeAt(bytes, 0);
    assert.ok('record' in decoded, JSON.stringify(decoded));
    assert.deepEqual(decoded.record, record(7));
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 2] ^= 0x01;
    assert.deepEqual(decodeAt(flipped, 0), { error: 'checksum mismatch' });
  });
});

describe('segmented journal', () => {
  before(async () => {
    root = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-replica-journal-'));
  });
  after(async () => {
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('continues the sequence after a restart and keeps its agent id', async () => {
    const dir = await freshDir();
    const a = await SegmentedJournal.open({ dir, namespace: 'ns', logger });
    for (let s = 1; s <= 3; s++) a.append(record(s));
    await a.sync();
    await a.close();
    const b = await SegmentedJournal.open({ dir, namespace: 'ns', logger });
    assert.equal(b.lastSequence, 3);
    assert.equal(b.meta.agentId, a.meta.agentId);
    await b.close();
  });

  it('starts a sync in the background each time earlySyncBytes were appended since the last one', async () => {
    const dir = await freshDir();
    const size = Buffer.concat(encodeRecord(record(1))).length;
    const j = await SegmentedJournal.open({ dir, namespace: 'ns', logger, earlySyncBytes: size * 3 });
    for (let s = 1; s <= 2; s++) j.append(record(s));
    assert.equal(j.earlySyncs, 0);
    j.append(record(3));
    assert.equal(j.earlySyncs, 1);
    await j.sync(); // an application's sync counts too: the next early one is 3 records after it
    for (let s = 4; s <= 5; s++) j.append(record(s));
    assert.equal(j.earlySyncs, 1);
    j.append(record(6));
    assert.equal(j.earlySyncs, 2);
    await j.close();
    const off = await SegmentedJournal.open({ dir: await freshDir(), namespace: 'ns', logger, earlySyncBytes: 0 });
    for (let s = 1; s <= 20; s++) off.append(record(s));
    assert.equal(off.earlySyncs, 0);
    await off.close();
  });

  it('refuses a journal directory of another namespace', async () => {
    const dir = await freshDir();
    await (await SegmentedJournal.open({ dir, namespace: 'ns', logger })).close();
    await assert.rejects(SegmentedJournal.open({ dir, namespace: 'other', logger }), /another namespace/);
  });

  it('drops a torn last record when it reopens, and the sequence continues after the last whole one', async () => {
    const dir = await freshDir();
    const a = await SegmentedJournal.open({ dir, namespace: 'ns', logger });
    a.append(record(1));
    a.append(record(2));
    await a.close();
    const [first] = await listSegments(dir);
    const file = nodePath.join(dir, `seg-${String(first).padStart(16, '0')}.jnl`);
    const torn = Buffer.concat(encodeRecord(record(3))).subarray(0, 40);
    await fsp.appendFile(file, torn);
    const b = await SegmentedJournal.open({ dir, namespace: 'ns', logger });
    assert.equal(b.lastSequence, 2);
    b.append(record(3));
    await b.close();
    const read = await new JournalStream(dir, 'ns', 0).read();
    assert.deepEqual(read.records.map((r) => r.record.sequence), [1, 2, 3]);
    assert.equal(read.corrupt, undefined);
  });

  it('rolls segments and removes only what every registered replica acknowledged', async () => {
    const dir = await freshDir();
    const j = await SegmentedJournal.open({ dir, namespace: 'ns', logger, segmentBytes: 600, truncateEveryMs: 3_600_000 });
    after(() => j.close());
    await writeAck(dir, 'r1', 0);
    await writeAck(dir, 'r2', 0);
    for (let s = 1; s <= 12; s++) j.append(record(s));
    await j.sync();
    const all = await listSegments(dir);
    assert.ok(all.length >= 4, `segments: ${all}`);
    assert.equal(await j.truncate(), 0);
    await writeAck(dir, 'r1', 12);
    assert.equal(await j.truncate(), 0, 'r2 has acknowledged nothing');
    await writeAck(dir, 'r2', all[2] - 1);
    assert.equal(await j.truncate(), 2);
    assert.deepEqual(await listSegments(dir), all.slice(2));
    const read = await new JournalStream(dir, 'ns', 0).read();
    assert.deepEqual(read.gap, { wanted: 1, firstAvailable: all[2] });
  });

  it('makes fsync wait for a synchronous replica and not for an asynchronous one', async () => {
    const dir = await freshDir();
    const j = await SegmentedJournal.open({ dir, namespace: 'ns', logger, syncTimeoutMs: 5_000 });
    j.append(record(1));
    await writeAck(dir, 'async', 0, false);
    await j.waitForSyncReplicas(1); // no synchronous replica: at once
    await writeAck(dir, 'sync', 0, true);
    let released = false;
    const waiting = j.waitForSyncReplicas(1).then(() => { released = true; });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(released, false);
    await writeAck(dir, 'sync', 1, true);
    await waiting;
    assert.equal(released, true);
    await j.close();
  });

  it('fails an fsync whose synchronous replica never answers, after the timeout', async () => {
    const dir = await freshDir();
    const j = await SegmentedJournal.open({ dir, namespace: 'ns', logger, syncTimeoutMs: 50 });
    await writeAck(dir, 'sync', 0, true);
    j.append(record(1));
    await assert.rejects(j.waitForSyncReplicas(1), /did not acknowledge/);
    await j.close();
  });
});

describe('journal stream', () => {
  before(async () => {
    root ??= await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-replica-journal-'));
  });

  it('stops at a corrupted record and returns only the records before it', async () => {
    const dir = await freshDir();
    const j = await SegmentedJournal.open({ dir, namespace: 'ns', logger });
    for (let s = 1; s <= 3; s++) j.append(record(s));
    await j.close();
    const [first] = await listSegments(dir);
    const file = nodePath.join(dir, `seg-${String(first).padStart(16, '0')}.jnl`);
    const text = await fsp.readFile(file, 'utf8');
    await fsp.writeFile(file, text.replace('"sequence":2,', '"sequence":2 ,'));
    const read = await new JournalStream(dir, 'ns', 0).read();
    assert.deepEqual(read.records.map((r) => r.record.sequence), [1]);
    assert.equal(read.corrupt?.error, 'checksum mismatch');
  });

  it('reports a sequence that jumps as corruption', async () => {
    const dir = await freshDir();
    const j = await SegmentedJournal.open({ dir, namespace: 'ns', logger });
    j.append(record(1));
    j.append(record(3));
    await j.close();
    const read = await new JournalStream(dir, 'ns', 0).read();
    assert.deepEqual(read.records.map((r) => r.record.sequence), [1]);
    assert.match(read.corrupt?.error ?? '', /jumps from 1 to 3/);
  });

  it('resumes after its cursor inside a segment', async () => {
    const dir = await freshDir();
    const j = await SegmentedJournal.open({ dir, namespace: 'ns', logger });
    for (let s = 1; s <= 5; s++) j.append(record(s));
    await j.close();
    const read = await new JournalStream(dir, 'ns', 3).read();
    assert.deepEqual(read.records.map((r) => r.record.sequence), [4, 5]);
  });
});
