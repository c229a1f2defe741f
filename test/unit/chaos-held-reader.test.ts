import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileClient } from '../../src/chaos/traffic/file-client';
import { RECORD_BYTES } from '../../src/chaos/traffic/file-worker-main';
import { HELD_READER_ARGV } from '../../src/chaos/traffic/held-reader-script';
import { parseWorkloads } from '../../src/chaos/workload-catalog';

/** The held reader child on a plain directory (no mount): what it keeps and what it answers. */
let dir: string;
const record = (text: string) => Buffer.concat([Buffer.from(text), Buffer.alloc(RECORD_BYTES - text.length - 1, ' '), Buffer.from('\n')]);

before(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'coherd-held-reader-'));
});

after(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe('held reader', () => {
  it('reads the record through the descriptor it keeps: a rename of the path does not change what it reads', { timeout: 20_000 }, async () => {
    const reader = new FileClient(10_000, HELD_READER_ARGV);
    try {
      const p = path.join(dir, 'kept');
      await fsp.writeFile(p, record('first'));
      assert.deepEqual(await reader.call({ op: 'held-pread', path: p }), { ok: true, value: 'first' });
      await fsp.rename(p, `${p}.old`);
      await fsp.writeFile(p, record('other file'));
      assert.deepEqual(await reader.call({ op: 'held-pread', path: p }), { ok: true, value: 'first' }, 'the kept descriptor is the old file');
      assert.deepEqual(await reader.call({ op: 'reopen', path: p }), { ok: true, value: 'other file' });
    } finally {
      reader.kill();
    }
  });

  it('reads through a shared mapping that follows writes, and an empty file as null', { timeout: 20_000 }, async () => {
    const reader = new FileClient(10_000, HELD_READER_ARGV);
    try {
      const p = path.join(dir, 'mapped');
      await fsp.writeFile(p, '');
      assert.deepEqual(await reader.call({ op: 'held-mmap', path: p }), { ok: true, value: null });
      await fsp.writeFile(p, record('one'));
      assert.deepEqual(await reader.call({ op: 'held-mmap', path: p }), { ok: true, value: 'one' });
      const fh = await fsp.open(p, 'r+');
      await fh.write(record('two'), 0, RECORD_BYTES, 0);
      await fh.close();
      assert.deepEqual(await reader.call({ op: 'held-mmap', path: p }), { ok: true, value: 'two' });
    } finally {
      reader.kill();
    }
  });

  it('writes a record through a read-write shared mapping (msync), reads it back through it, and refuses a file too short to map', { timeout: 20_000 }, async () => {
    const writer = new FileClient(10_000, HELD_READER_ARGV);
    try {
      const p = path.join(dir, 'mapped-rw');
      await fsp.writeFile(p, record(''));
      assert.deepEqual(await writer.call({ op: 'held-mmap-rw', path: p }), { ok: true, value: null });
      assert.deepEqual(await writer.call({ op: 'held-mmap-write', path: p, data: 'stored' }), { ok: true, value: null });
      assert.ok((await fsp.readFile(p)).equals(record('stored')), 'the file holds the record after the msync');
      await fsp.writeFile(p, record('by pwrite'));
      assert.deepEqual(await writer.call({ op: 'held-mmap-rw', path: p }), { ok: true, value: 'by pwrite' });
      const short = path.join(dir, 'short');
      await fsp.writeFile(short, 'x');
      assert.deepEqual(await writer.call({ op: 'held-mmap-write', path: short, data: 'no' }), { ok: false, code: 'ENODATA' });
    } finally {
      writer.kill();
    }
  });

  it('answers a missing file with ENOENT and opens it again once it exists; refuses an unknown op', { timeout: 20_000 }, async () => {
    const reader = new FileClient(10_000, HELD_READER_ARGV);
    try {
      const p = path.join(dir, 'later');
      assert.deepEqual(await reader.call({ op: 'held-pread', path: p }), { ok: false, code: 'ENOENT' });
      await fsp.writeFile(p, record('now'));
      assert.deepEqual(await reader.call({ op: 'held-pread', path: p }), { ok: true, value: 'now' });
      assert.deepEqual(await reader.call({ op: 'bogus' as 'reopen', path: p }), { ok: false, code: 'EINVAL' });
    } finally {
      reader.kill();
    }
  });
});

describe('workload catalog', () => {
  it('runs every workload for "all", shared mappings (register-mmap, register-mmap-write) included, and one alone when named', () => {
    assert.deepEqual(parseWorkloads('all').map((w) => w.name).sort(), ['append', 'churn', 'locks', 'names', 'register', 'register-mmap', 'register-mmap-write', 'rmw']);
    assert.deepEqual(parseWorkloads('register-mmap').map((w) => w.name), ['register-mmap']);
  });

  it('accepts "all" beside other names ("register,all"), each workload once', () => {
    const all = parseWorkloads('all').map((w) => w.name);
    assert.deepEqual(parseWorkloads('register,all,register').map((w) => w.name).sort(), [...all].sort());
    assert.throws(() => parseWorkloads('all,bogus'), /unknown workload "bogus"/);
  });

  it('refuses an unknown plant', () => {
    assert.throws(() => parseWorkloads('register', ['stale-everything']), /unknown --plant "stale-everything"/);
  });
});
