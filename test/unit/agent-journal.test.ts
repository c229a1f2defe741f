import assert from 'node:assert/strict';
import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { after, before, describe, it } from 'node:test';
import { SessionLostError } from '../../src/common/errors';
import { errnoNameOf } from '../../src/common/errno-table';
import { silentLogger } from '../../src/common/logger';
import { compose } from '../../src/agent/hooks/compose';
import { createJournalHook } from '../../src/agent/hooks/journal';
import { createRangeLockHook } from '../../src/agent/hooks/range-lock';
import { FileJournalSink } from '../../src/agent/journal/file-journal-sink';
import { JournalRecord } from '../../src/agent/journal/journal-record';
import { MemoryJournalSink } from '../../src/agent/journal/memory-journal-sink';
import { Hook, Terminal, Vop, VopArgs, VopName, VopStat } from '../../src/agent/vop';

const signal = new AbortController().signal;
const logger = silentLogger();

function vop<N extends VopName>(op: N, path: string, args: VopArgs[N], ino?: number): Vop {
  return { op, path, args, signal, ino } as unknown as Vop;
}

function stat(ino: number): VopStat {
  return { ino, mode: 0o100644, nlink: 1, uid: 0, gid: 0, rdev: 0, size: 0, blksize: 4096, blocks: 0, atimeMs: 0, mtimeMs: 0, ctimeMs: 0 };
}

/** A terminal that succeeds with plausible results, or fails for paths under /fail. */
const terminal: Terminal = async (v) => {
  if (v.path.startsWith('/fail')) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  switch (v.op) {
    case 'create': return { fh: 1, stat: stat(500) };
    case 'mkdir': case 'symlink': case 'mknod': case 'link': return stat(600);
    case 'write': return v.args.data.length;
    case 'getattr': return stat(v.ino ?? 1);
    default: return undefined;
  }
};

describe('journal hook', () => {
  it('records mutating vops after they succeed, in order, with increasing sequence numbers', async () => {
    const sink = new MemoryJournalSink();
    const run = compose([createJournalHook({ namespace: 'ns', sink, logger, wallClockMs: () => 1234 })], terminal);
    await run(vop('create', '/a', { mode: 0o644 }));
    await run(vop('getattr', '/a', {}, 500));
    await run(vop('rename', '/a', { dest: '/b' }, 500));
    await run(vop('mkdir', '/d', { mode: 0o755 }));
    await assert.rejects(run(vop('unlink', '/fail/x', {}, 9)));
    assert.deepEqual(sink.records.map((r) => [r.op, r.ino, r.sequence]), [['create', 500, 1], ['rename', 500, 2], ['mkdir', 600, 3]]);
    assert.deepEqual(sink.records[1], {
      namespace: 'ns', ino: 500, op: 'rename', path: '/a', args: { dest: '/b' }, fencingToken: null, sequence: 2, timeMs: 1234,
    });
  });

  it('journals write data as its length plus the bytes themselves (payload), and drops the local handle id', async () => {
    const sink = new MemoryJournalSink();
    const run = compose([createJournalHook({ namespace: 'ns', sink, logger })], terminal);
    const data = Buffer.from('some bytes to replicate');
    await run(vop('write', '/a', { fh: 3, data, offset: 10 }, 77));
    const [record] = sink.records;
    assert.deepEqual(record.args, { data: { length: data.length }, offset: 10 });
    assert.deepEqual(record.payload, data);
    assert.equal(record.ino, 77);
  });

  it('journals large write data after a slow op', async () => {
    const sink = new MemoryJournalSink();
    const data = Buffer.alloc(128 * 1024, 0x5a);
    const want = createHash('sha256').update(data).digest('hex');
    const slowTerminal: Terminal = async (v) => {
      await new Promise((r) => setTimeout(r, 5));
      return terminal(v);
    };
    const run = compose([createJournalHook({ namespace: 'ns', sink, logger })], slowTerminal);
    await run(vop('write', '/a', { fh: 3, data, offset: 0 }, 77));
    assert.deepEqual(sink.records[0].args, { data: { length: data.length }, offset: 0 });
    assert.equal(createHash('sha256').update(sink.records[0].payload!).digest('hex'), want);
  });

  it('appends records in sequence order when a large write and a small one complete together', async () => {
    const sink = new MemoryJournalSink();
    const run = compose([createJournalHook({ namespace: 'ns', sink, logger })], terminal);
    await Promise.all([
      run(vop('write', '/a', { fh: 3, data: Buffer.alloc(256 * 1024, 1), offset: 0 }, 7)),
      run(vop('write', '/b', { fh: 4, data: Buffer.from('small'), offset: 0 }, 8)),
      run(vop('chmod', '/c', { mode: 0o600 }, 9)),
    ]);
    assert.deepEqual(sink.records.map((r) => r.sequence), [1, 2, 3]);
    assert.deepEqual(sink.records.map((r) => r.ino).sort(), [7, 8, 9]);
  });

  it('journals nothing for a failed large write', async () => {
    const sink = new MemoryJournalSink();
    const run = compose([createJournalHook({ namespace: 'ns', sink, logger })], terminal);
    await assert.rejects(run(vop('write', '/fail/a', { fh: 3, data: Buffer.alloc(64 * 1024), offset: 0 }, 7)));
    assert.equal(sink.records.length, 0);
  });

  it('carries the fencing token an inner hook attached to the vop', async () => {
    const sink = new MemoryJournalSink();
    const coherency: Hook = (v, next) => { v.fencingToken = { epoch: 2, counter: 41 }; return next(v); };
    const run = compose([createJournalHook({ namespace: 'ns', sink, logger }), coherency], terminal);
    await run(vop('truncate', '/a', { size: 0 }, 5));
    assert.deepEqual(sink.records[0].fencingToken, { epoch: 2, counter: 41 });
  });

  it('continues after the sink\'s last sequence', async () => {
    const sink = new MemoryJournalSink();
    sink.append({ namespace: 'ns', ino: 1, op: 'chmod', path: '/x', args: {}, fencingToken: null, sequence: 41, timeMs: 0 });
    const run = compose([createJournalHook({ namespace: 'ns', sink, logger })], terminal);
    await run(vop('chmod', '/x', { mode: 0o600 }, 1));
    assert.equal(sink.records[1].sequence, 42);
  });

  it('syncs the sink on fsync so journaled ops are as durable as the data', async () => {
    let syncs = 0;
    const sink = new MemoryJournalSink();
    sink.sync = async () => { syncs++; };
    const run = compose([createJournalHook({ namespace: 'ns', sink, logger })], terminal);
    await run(vop('fsync', '/a', { fh: 1, datasync: false }, 5));
    await run(vop('read', '/a', { fh: 1, buffer: Buffer.alloc(1), length: 1, offset: 0 }, 5));
    assert.equal(syncs, 1);
  });

  it('syncs the journal while the fsync runs, and answers the fsync only once both are done', async () => {
    const events: string[] = [];
    let finishOp!: () => void;
    let finishSync!: () => void;
    const sink = new MemoryJournalSink();
    sink.sync = () => { events.push('journal sync started'); return new Promise<void>((r) => { finishSync = () => { events.push('journal synced'); r(); }; }); };
    const run = compose([createJournalHook({ namespace: 'ns', sink, logger })], (v) => {
      events.push(`${v.op} started`);
      return new Promise((r) => { finishOp = () => { events.push(`${v.op} done`); r(undefined); }; });
    });
    let answered = false;
    const fsync = run(vop('fsync', '/a', { fh: 1, datasync: false }, 5)).then(() => { answered = true; });
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(events, ['journal sync started', 'fsync started']);
    finishOp();
    await new Promise((r) => setImmediate(r));
    assert.equal(answered, false, 'answered before the journal was synced');
    finishSync();
    await fsync;
    assert.deepEqual(events, ['journal sync started', 'fsync started', 'fsync done', 'journal synced']);
  });

  it('fails an fsync whose journal sync failed, and reports the op\'s own error first', async () => {
    const sink = new MemoryJournalSink();
    sink.sync = async () => { throw new Error('journal write failed'); };
    const run = compose([createJournalHook({ namespace: 'ns', sink, logger })], terminal);
    await assert.rejects(run(vop('fsync', '/a', { fh: 1, datasync: false }, 5)), /journal write failed/);
    await assert.rejects(run(vop('fsync', '/fail/a', { fh: 1, datasync: false }, 5)), /no such file/);
  });
});

describe('range-lock hook (fencing)', () => {
  it('refuses every mutating vop with EIO while the agent is fenced, and lets reads pass', async () => {
    let fenced = true;
    const sink = new MemoryJournalSink();
    const reached: string[] = [];
    const run = compose(
      [createJournalHook({ namespace: 'ns', sink, logger }), createRangeLockHook({ isFenced: () => fenced, logger })],
      async (v) => { reached.push(v.op); return terminal(v); },
    );
    await assert.rejects(run(vop('write', '/a', { fh: 1, data: Buffer.from('x'), offset: 0 }, 5)),
      (e) => e instanceof SessionLostError && errnoNameOf(e) === 'EIO');
    await assert.rejects(run(vop('unlink', '/a', {}, 5)), (e) => errnoNameOf(e) === 'EIO');
    await run(vop('getattr', '/a', {}, 5));
    assert.deepEqual(reached, ['getattr']);
    assert.equal(sink.records.length, 0);
    fenced = false;
    await run(vop('unlink', '/a', {}, 5));
    assert.deepEqual(reached, ['getattr', 'unlink']);
  });
});

describe('file journal sink', () => {
  let dir: string;
  before(async () => { dir = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-journal-test-')); });
  after(async () => { await fsp.rm(dir, { recursive: true, force: true }); });

  const record = (sequence: number): JournalRecord =>
    ({ namespace: 'ns', ino: sequence, op: 'write', path: '/f', args: { offset: 0 }, fencingToken: null, sequence, timeMs: 0 });

  it('appends JSON lines in batches and makes them durable on sync', async () => {
    const path = nodePath.join(dir, 'a.jsonl');
    const sink = await FileJournalSink.open({ path, logger });
    assert.equal(sink.lastSequence, 0);
    for (let i = 1; i <= 1000; i++) sink.append(record(i));
    await sink.sync();
    const lines = (await fsp.readFile(path, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as JournalRecord);
    assert.deepEqual(lines.map((r) => r.sequence), Array.from({ length: 1000 }, (_, i) => i + 1));
    await sink.close();
    await sink.close();
  });

  it('keeps writing records appended after a sync that found nothing pending', async () => {
    const path = nodePath.join(dir, 'a2.jsonl');
    const sink = await FileJournalSink.open({ path, logger });
    await sink.sync(); // nothing queued: the drain finishes at once
    for (let i = 1; i <= 10; i++) sink.append(record(i));
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50)); // the background writer, not a sync, must have written them
    const lines = (await fsp.readFile(path, 'utf8')).trim().split('\n').filter(Boolean);
    assert.equal(lines.length, 10);
    await sink.close();
  });

  it('resumes after the last complete record, skipping a torn last line', async () => {
    const path = nodePath.join(dir, 'b.jsonl');
    await fsp.writeFile(path, JSON.stringify(record(7)) + '\n' + JSON.stringify(record(8)) + '\n{"sequence": 9, "trunc');
    const sink = await FileJournalSink.open({ path, logger });
    assert.equal(sink.lastSequence, 8);
    await sink.close();
  });

  it('ignores appends after close instead of throwing', async () => {
    const sink = await FileJournalSink.open({ path: nodePath.join(dir, 'c.jsonl'), logger });
    await sink.close();
    assert.doesNotThrow(() => sink.append(record(1)));
  });

  it('makes waitForRoom wait only while more than the high-water mark is buffered', async () => {
    const sink = await FileJournalSink.open({ path: nodePath.join(dir, 'd.jsonl'), logger, highWaterBytes: 100 });
    await sink.waitForRoom();
    for (let i = 1; i <= 5; i++) sink.append(record(i));
    await sink.waitForRoom(); // resolves once the writer took the batch
    await sink.close();
  });
});
