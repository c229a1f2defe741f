import assert from 'node:assert/strict';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/common/logger';
import { BackingStore } from '../../src/agent/backing/backing-store';
import { VopBuilder } from '../../src/agent/fuse/vop-builder';
import { compose } from '../../src/agent/hooks/compose';
import { createJournalHook } from '../../src/agent/hooks/journal';
import { listSegments } from '../../src/agent/journal/journal-dir';
import { SegmentedJournal } from '../../src/agent/journal/segmented-journal';
import { Hook, VopArgs, VopName, VopOf, VopResults, VopRunner } from '../../src/agent/vop';
import { verifyMirror } from '../../src/replica/mirror-verify';
import { ReplicaFollower } from '../../src/replica/replica-follower';
import { replicaStatus } from '../../src/replica/replica-status';

const logger = silentLogger();
const signal = new AbortController().signal;
let root: string;
let counter = 0;

/** Stamps every mutating vop with the next cluster-wide token (what coherency does with real grants). */
const stampTokens: Hook = async (vop, next) => {
  vop.fencingToken = { epoch: 1, counter: ++counter };
  return next(vop);
};

/** One "host": its journal and a hook chain over the shared backing directory (no FUSE). */
class Host {
  private constructor(readonly journal: SegmentedJournal, readonly vops: VopBuilder, readonly run: VopRunner) {}

  /** `direct`: its writes run as under DIRECT tokens (what the coherency hook marks in direct mode). */
  static async start(backing: BackingStore, journalDir: string, o: { direct?: boolean } = {}): Promise<Host> {
    const journal = await SegmentedJournal.open({ dir: journalDir, namespace: 'ns', logger, segmentBytes: 4096 });
    const markDirect: Hook = async (vop, next) => {
      if (o.direct && vop.op === 'write') vop.direct = true;
      return next(vop);
    };
    const run = compose([createJournalHook({ namespace: 'ns', sink: journal, logger }), stampTokens, markDirect], backing.terminal) as VopRunner;
    return new Host(journal, new VopBuilder(backing, signal), run);
  }

  entry<N extends VopName>(op: N, path: string, args: VopArgs[N], withIno = false): Promise<VopResults[N]> {
    return this.vops.onEntry(op, path, args, withIno).then((v) => this.run(v as VopOf<N>));
  }

  onPath<N extends VopName>(op: N, path: string, args: VopArgs[N]): Promise<VopResults[N]> {
    return this.vops.onPath(op, path, args).then((v) => this.run(v as VopOf<N>));
  }

  handle<N extends VopName>(op: N, path: string, fh: number, args: VopArgs[N]): Promise<VopResults[N]> {
    return this.run(this.vops.onHandle(op, path, fh, args) as VopOf<N>);
  }

  async rename(from: string, to: string): Promise<void> {
    const v = await this.vops.onEntry('rename', from, { dest: to }, true);
    const dest = await this.vops.onEntry('rename', to, { dest: to }, false);
    v.args.destParentIno = dest.parentIno;
    await this.run(v);
  }

  async writeFile(path: string, data: string, offset = 0): Promise<number> {
    const { fh } = await this.entry('create', path, { mode: 0o640 });
    await this.handle('write', path, fh, { fh, data: Buffer.from(data), offset });
    return fh;
  }
}

interface World {
  dir: string;
  backingDir: string;
  mirrorDir: string;
  stateDir: string;
  backing: BackingStore;
  hosts: Host[];
}

async function world(hosts = 2): Promise<World> {
  const dir = await fsp.mkdtemp(nodePath.join(root, 'w-'));
  const backingDir = nodePath.join(dir, 'backing');
  await fsp.mkdir(backingDir);
  const backing = await BackingStore.open({ dir: backingDir, logger });
  const list: Host[] = [];
  for (let i = 0; i < hosts; i++) list.push(await Host.start(backing, nodePath.join(dir, 'journals', `host-${i}`)));
  const w = { dir, backingDir, mirrorDir: nodePath.join(dir, 'mirror'), stateDir: nodePath.join(dir, 'state'), backing, hosts: list };
  worlds.push(w);
  return w;
}

/** Every world made, so that a failed test's journals are closed too (an open one keeps the process alive). */
const worlds: World[] = [];

async function follower(w: World, extra: { backing?: boolean } = {}): Promise<ReplicaFollower> {
  await fsp.mkdir(w.mirrorDir, { recursive: true });
  return ReplicaFollower.open({
    namespace: 'ns', journalRoots: [nodePath.join(w.dir, 'journals')], mirrorDir: w.mirrorDir, stateDir: w.stateDir,
    backingDir: extra.backing ? w.backingDir : undefined, logger, discoverEveryMs: 0,
  });
}

/** Rounds until a round applies nothing more (two rounds: the ordering rule holds the last one back). */
async function catchUp(f: ReplicaFollower): Promise<void> {
  for (let i = 0; i < 4; i++) await f.step();
}

async function shutdown(w: World): Promise<void> {
  for (const h of w.hosts) await h.journal.close();
}

describe('replica following journals (no FUSE)', () => {
  before(async () => {
    root = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-replica-follow-'));
  });
  after(async () => {
    for (const w of worlds) await shutdown(w).catch(() => undefined);
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('rebuilds creates, writes, appends at their offset, truncates, renames across directories, links, symlinks and chmods', async () => {
    const w = await world();
    const [a, b] = w.hosts;
    await a.entry('mkdir', '/docs', { mode: 0o755 });
    await b.entry('mkdir', '/archive', { mode: 0o700 });
    const fh = await a.writeFile('/docs/report', 'hello world, first draft');
    await b.writeFile('/docs/notes', 'notes');
    await a.handle('truncate', '/docs/report', fh, { size: 11, fh });
    await a.handle('write', '/docs/report', fh, { fh, data: Buffer.from('!!'), offset: 11 });
    await b.rename('/docs/notes', '/archive/notes-2026');
    await a.entry('symlink', '/docs/latest', { target: '../archive/notes-2026' });
    await b.onPath('chmod', '/archive/notes-2026', { mode: 0o600 });
    await a.onPath('link', '/docs/report', { dest: '/archive/report-link' }).catch(() => undefined);
    await a.rename('/docs', '/archive/docs-old');
    await b.writeFile('/archive/docs-old/after-dir-rename', 'xyz');
    const f = await follower(w);
    await catchUp(f);
    assert.deepEqual(await verifyMirror(w.backingDir, w.mirrorDir), []);
    await shutdown(w);
  });

  it('replays RENAME_EXCHANGE (files and directories), RENAME_NOREPLACE, fallocate and punched holes', async () => {
    const w = await world();
    const [a, b] = w.hosts;
    const renameFlags = async (h: Host, from: string, to: string, flags: number) => {
      const v = await h.vops.onEntry('rename', from, { dest: to, flags }, true);
      const dest = await h.vops.onEntry('rename', to, { dest: to }, true);
      v.args.destParentIno = dest.parentIno;
      v.args.destIno = dest.ino;
      await h.run(v);
    };
    await a.entry('mkdir', '/x', { mode: 0o755 });
    await a.entry('mkdir', '/y', { mode: 0o700 });
    await a.writeFile('/x/inner', 'in x');
    const one = await a.writeFile('/one', 'first file');
    await b.writeFile('/two', 'second');
    await renameFlags(a, '/one', '/two', 2);
    await renameFlags(b, '/x', '/y', 2);
    await renameFlags(b, '/two', '/three', 1);
    await a.handle('fallocate', '/three', one, { fh: one, mode: 0, offset: 0, length: 65536 });
    await a.handle('write', '/three', one, { fh: one, data: Buffer.alloc(2048, 7), offset: 0 }); // journal segments are 4 KiB here
    await a.handle('fallocate', '/three', one, { fh: one, mode: 0x01 | 0x02, offset: 0, length: 1024 }); // KEEP_SIZE|PUNCH_HOLE: zeroes
    const f = await follower(w);
    await catchUp(f);
    assert.deepEqual(await verifyMirror(w.backingDir, w.mirrorDir), []);
    assert.equal(await fsp.readFile(nodePath.join(w.mirrorDir, 'y', 'inner'), 'utf8'), 'in x');
    const three = await fsp.readFile(nodePath.join(w.mirrorDir, 'three'));
    assert.equal(three.length, 65536);
    assert.ok(three.subarray(0, 1024).every((x) => x === 0) && three.subarray(1024, 2048).every((x) => x === 7));
    await shutdown(w);
  });

  it('drops writes to a file another host unlinked while it was open, without touching the new file of that name', async () => {
    const w = await world();
    const [a, b] = w.hosts;
    const fh = await a.writeFile('/log', 'old contents');
    await b.entry('unlink', '/log', {}, true);
    await b.writeFile('/log', 'new file');
    await a.handle('write', '/log', fh, { fh, data: Buffer.from('late write to the unlinked file'), offset: 0 });
    const f = await follower(w);
    await catchUp(f);
    assert.equal(await fsp.readFile(nodePath.join(w.mirrorDir, 'log'), 'utf8'), 'new file');
    assert.deepEqual(await verifyMirror(w.backingDir, w.mirrorDir), []);
    await shutdown(w);
  });

  it('replays another host\'s write to a new file after its create when the new file got a removed file\'s inode number', async () => {
    // Both ways round, three times: which journal the replica reads first varies (journals are found in parallel).
    for (const writerIndex of [0, 1, 0, 1, 0, 1]) {
      const w = await world();
      const writer = w.hosts[writerIndex];
      const maker = w.hosts[1 - writerIndex];
      // The maker makes /log, removes it and makes it again until the backing store reuses the number (ext4 does at once).
      const first = await maker.entry('create', '/log', { mode: 0o640 });
      await maker.handle('write', '/log', first.fh, { fh: first.fh, data: Buffer.from('old contents'), offset: 0 });
      await maker.handle('release', '/log', first.fh, { fh: first.fh });
      let reused = false;
      for (let tries = 0; tries < 20 && !reused; tries++) {
        await maker.entry('unlink', '/log', {}, true);
        const made = await maker.entry('create', '/log', { mode: 0o640 });
        await maker.handle('release', '/log', made.fh, { fh: made.fh });
        reused = made.stat.ino === first.stat.ino;
      }
      assert.ok(reused, 'the backing store never reused the inode number');
      const { fh } = await writer.entry('open', '/log', { flags: 1 }, true);
      await writer.handle('write', '/log', fh, { fh, data: Buffer.from('new file'), offset: 0 });
      const f = await follower(w);
      await catchUp(f);
      assert.equal(await fsp.readFile(nodePath.join(w.mirrorDir, 'log'), 'utf8'), 'new file', `writer is host ${writerIndex}`);
      assert.deepEqual(await verifyMirror(w.backingDir, w.mirrorDir), []);
      await shutdown(w);
    }
  });

  it('resumes from its durable cursor after a restart and acknowledges to every journal', async () => {
    const w = await world();
    const [a, b] = w.hosts;
    await a.writeFile('/one', '1');
    const f1 = await follower(w);
    await catchUp(f1);
    const before = (await replicaStatus(w.stateDir)).agents.map((x) => x.cursor);
    assert.ok(before.every((c) => c >= 0) && before.some((c) => c > 0));
    await b.writeFile('/two', '2');
    await a.rename('/one', '/uno');
    const f2 = await follower(w);
    await catchUp(f2);
    assert.deepEqual(await verifyMirror(w.backingDir, w.mirrorDir), []);
    const status = await replicaStatus(w.stateDir);
    assert.deepEqual(status.agents.map((x) => x.lagRecords), [0, 0]);
    for (const h of w.hosts) {
      const ack = JSON.parse(await fsp.readFile(nodePath.join(w.dir, 'journals', `host-${w.hosts.indexOf(h)}`, 'replicas', 'replica.json'), 'utf8'));
      assert.equal(ack.acked, h.journal.lastSequence);
    }
    await shutdown(w);
  });

  it('stops a stream at a corrupted record, applies nothing of it or after it, and reports why', async () => {
    const w = await world(1);
    const [a] = w.hosts;
    await a.writeFile('/good', 'good');
    await a.writeFile('/bad', 'bad');
    await a.writeFile('/after', 'after');
    const jdir = nodePath.join(w.dir, 'journals', 'host-0');
    for (const first of await listSegments(jdir)) {
      const file = nodePath.join(jdir, `seg-${String(first).padStart(16, '0')}.jnl`);
      await fsp.writeFile(file, (await fsp.readFile(file, 'utf8')).replace('"path":"/bad"', '"path":"/BAD"'));
    }
    const f = await follower(w);
    await catchUp(f);
    const names = (await fsp.readdir(w.mirrorDir)).sort();
    assert.deepEqual(names, ['good']);
    const [status] = (await replicaStatus(w.stateDir)).agents;
    assert.match(status.stopped ?? '', /checksum mismatch/);
    assert.ok(status.lagRecords > 0);
    await shutdown(w);
  });

  it('stops the stream of a host whose write ran in direct mode, says why, and keeps following the others', async () => {
    const w = await world(1);
    const [a] = w.hosts;
    const direct = await Host.start(w.backing, nodePath.join(w.dir, 'journals', 'host-direct'), { direct: true });
    try {
      await a.writeFile('/cached', 'ordered by tokens');
      await direct.writeFile('/log', 'appended without an order');
      await a.writeFile('/later', 'still followed');
      const f = await follower(w);
      await catchUp(f);
      const names = (await fsp.readdir(w.mirrorDir)).sort();
      assert.ok(names.includes('cached') && names.includes('later'), `the other host is still followed: ${names}`);
      const stopped = (await replicaStatus(w.stateDir)).agents.filter((x) => x.stopped !== undefined);
      assert.equal(stopped.length, 1);
      assert.match(stopped[0].stopped ?? '', /ran in direct mode.*--direct-mode-alone 0/);
    } finally {
      await direct.journal.close();
      await shutdown(w);
    }
  });

  it('rescans the backing store when the journals were truncated past it, then follows again', async () => {
    const w = await world();
    const [a, b] = w.hosts;
    for (let i = 0; i < 30; i++) await (i % 2 ? a : b).writeFile(`/f${i}`, `contents ${i} `.repeat(20));
    for (const h of w.hosts) await h.journal.truncate(); // no replica registered yet: keeps only the newest segments
    assert.ok((await listSegments(nodePath.join(w.dir, 'journals', 'host-0')))[0] > 1);
    const without = await follower(w);
    await catchUp(without);
    assert.ok((await replicaStatus(w.stateDir)).agents.some((x) => /no --backing/.test(x.stopped ?? '')));
    await fsp.rm(w.stateDir, { recursive: true });
    const f = await follower(w, { backing: true });
    await catchUp(f);
    await a.writeFile('/after-rescan', 'x');
    await catchUp(f);
    assert.deepEqual(await verifyMirror(w.backingDir, w.mirrorDir), []);
    assert.equal((await replicaStatus(w.stateDir)).rescans, 1);
    await shutdown(w);
  });
});

describe('replica verify', () => {
  it('lists planted differences: content, size, mode, symlink target, missing and extra entries', async () => {
    const dir = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-replica-verify-'));
    try {
      const [b, m] = [nodePath.join(dir, 'b'), nodePath.join(dir, 'm')];
      for (const d of [b, m]) {
        await fsp.mkdir(d);
        await fsp.writeFile(nodePath.join(d, 'same'), 'same');
        await fsp.writeFile(nodePath.join(d, 'content'), d === b ? 'aaaa' : 'aaab');
        await fsp.writeFile(nodePath.join(d, 'size'), d === b ? 'aaaa' : 'aaa');
        await fsp.writeFile(nodePath.join(d, 'mode'), 'x', { mode: d === b ? 0o644 : 0o600 });
        await fsp.chmod(nodePath.join(d, 'mode'), d === b ? 0o644 : 0o600);
        await fsp.symlink(d === b ? 'same' : 'content', nodePath.join(d, 'link'));
      }
      await fsp.writeFile(nodePath.join(b, 'missing'), '');
      await fsp.mkdir(nodePath.join(m, 'extra'));
      const diffs = await verifyMirror(b, m);
      assert.deepEqual(diffs.map((d) => `${d.kind} ${d.path}`).sort(), ['content /content', 'extra /extra', 'missing /missing', 'mode /mode', 'size /size', 'target /link']);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
