import assert from 'node:assert/strict';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/common/logger';
import { SystemClock } from '../../src/common/clock';
import { serveOps } from '../../src/common/metrics/ops-server';
import { BackingStore } from '../../src/agent/backing/backing-store';
import { VopBuilder } from '../../src/agent/fuse/vop-builder';
import { compose } from '../../src/agent/hooks/compose';
import { createJournalHook } from '../../src/agent/hooks/journal';
import { listSegments } from '../../src/agent/journal/journal-dir';
import { SegmentedJournal } from '../../src/agent/journal/segmented-journal';
import { Hook, VopOf, VopRunner } from '../../src/agent/vop';
import { ReplicaFollower } from '../../src/replica/replica-follower';
import { ReplicaMetrics } from '../../src/replica/replica-metrics';
import { Registry } from 'prom-client';
import { parsePromText, Sample, total } from '../support/prom-text';

/**
 * The replica's metrics and health, on a real follower over real journals
 * (the agent's journal hook over a backing directory; no FUSE, no
 * coordinator), scraped over HTTP as Prometheus would.
 */
const logger = silentLogger();
const signal = new AbortController().signal;
let root: string;
let counter = 0;
const stampTokens: Hook = async (vop, next) => {
  vop.fencingToken = { epoch: 3, counter: ++counter };
  return next(vop);
};

interface World { dir: string; journalDir: string; mirrorDir: string; stateDir: string; journal: SegmentedJournal; write(path: string, data: string): Promise<void> }

async function world(): Promise<World> {
  const dir = await fsp.mkdtemp(nodePath.join(root, 'w-'));
  const backingDir = nodePath.join(dir, 'backing');
  await fsp.mkdir(backingDir);
  const backing = await BackingStore.open({ dir: backingDir, logger });
  const journalDir = nodePath.join(dir, 'journals', 'host-0');
  const journal = await SegmentedJournal.open({ dir: journalDir, namespace: 'ns', logger, segmentBytes: 1 << 20 });
  const run = compose([createJournalHook({ namespace: 'ns', sink: journal, logger }), stampTokens], backing.terminal) as VopRunner;
  const vops = new VopBuilder(backing, signal);
  const write = async (path: string, data: string) => {
    const { fh } = await vops.onEntry('create', path, { mode: 0o644 }, false).then((v) => run(v as VopOf<'create'>));
    await run(vops.onHandle('write', path, fh, { fh, data: Buffer.from(data), offset: 0 }) as VopOf<'write'>);
  };
  return { dir, journalDir, mirrorDir: nodePath.join(dir, 'mirror'), stateDir: nodePath.join(dir, 'state'), journal, write };
}

async function follower(w: World, journalRoots = [nodePath.join(w.dir, 'journals')]): Promise<ReplicaFollower> {
  await fsp.mkdir(w.mirrorDir, { recursive: true });
  return ReplicaFollower.open({ namespace: 'ns', journalRoots, mirrorDir: w.mirrorDir, stateDir: w.stateDir, logger, discoverEveryMs: 0 });
}

async function get(address: string, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://${address}${path}`);
  return { status: res.status, text: await res.text() };
}

describe('replica metrics and health', () => {
  before(async () => {
    root = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-replica-metrics-'));
  });
  after(async () => {
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('reports per-agent lag in records, bytes and seconds until applied, then the cursor and the last fencing token', async () => {
    const w = await world();
    await w.write('/a', 'first file');
    const f = await follower(w);
    const metrics = new ReplicaMetrics(f, new SystemClock(), new Registry());
    const ops = await serveOps('127.0.0.1:0', metrics, logger);
    try {
      assert.equal((await get(ops.address, '/readyz')).status, 503, 'not ready before a round');
      await f.step(); // finds the agent, reads its records; the ordering rule holds them one round
      for (let i = 0; i < 4; i++) await w.write(`/f${i}`, `contents ${i} `.repeat(50));
      const agentId = f.followed()[0].agentId;
      const scrape = async (): Promise<Sample[]> => parsePromText((await get(ops.address, '/metrics')).text);
      let s = await scrape();
      const journalRecords = 2 + 4 * 2; // create + write each
      const applied = total(s, 'coherd_replica_cursor_sequence', { agent: agentId });
      assert.equal(total(s, 'coherd_replica_lag_records', { agent: agentId }), journalRecords - applied);
      assert.ok(total(s, 'coherd_replica_lag_records', { agent: agentId }) >= 8);
      assert.ok(total(s, 'coherd_replica_lag_bytes', { agent: agentId }) > 4 * 500, 'write data counts in the lag bytes');
      assert.ok(total(s, 'coherd_replica_lag_seconds', { agent: agentId }) > 0);
      for (let i = 0; i < 4; i++) await f.step();
      s = await scrape();
      assert.equal(total(s, 'coherd_replica_lag_records', { agent: agentId }), 0);
      assert.equal(total(s, 'coherd_replica_lag_bytes', { agent: agentId }), 0);
      assert.equal(total(s, 'coherd_replica_lag_seconds', { agent: agentId }), 0);
      assert.equal(total(s, 'coherd_replica_cursor_sequence', { agent: agentId }), journalRecords);
      assert.equal(total(s, 'coherd_replica_last_token_epoch', { agent: agentId }), 3);
      assert.equal(total(s, 'coherd_replica_last_token_counter', { agent: agentId }), counter);
      assert.equal(total(s, 'coherd_replica_stream_stopped', { agent: agentId }), 0);
      assert.equal(total(s, 'coherd_replica_apply_lag_seconds_count'), journalRecords);
      assert.equal(new Set(s.filter((x) => x.labels.agent !== undefined).map((x) => x.labels.agent)).size, 1, 'one agent label value per followed journal');
      const ready = await get(ops.address, '/readyz');
      assert.equal(ready.status, 200, ready.text);
      assert.equal((await get(ops.address, '/healthz')).status, 200);
    } finally {
      await ops.close();
      await w.journal.close();
    }
  });

  it('is not ready once an agent\'s stream stopped at a corrupted record, and says which', async (t) => {
    const w = await world();
    await w.write('/good', 'good');
    await w.write('/bad', 'bad');
    for (const first of await listSegments(w.journalDir)) {
      const file = nodePath.join(w.journalDir, `seg-${String(first).padStart(16, '0')}.jnl`);
      await fsp.writeFile(file, (await fsp.readFile(file, 'utf8')).replace('"path":"/bad"', '"path":"/BAD"'));
    }
    t.after(() => w.journal.close());
    const f = await follower(w);
    const metrics = new ReplicaMetrics(f, new SystemClock(), new Registry());
    for (let i = 0; i < 3; i++) await f.step();
    const agentId = f.followed()[0].agentId;
    const s = parsePromText(await metrics.registry.metrics());
    assert.equal(total(s, 'coherd_replica_stream_stopped', { agent: agentId }), 1);
    assert.ok(total(s, 'coherd_replica_lag_records', { agent: agentId }) > 0);
    const ready = metrics.ready();
    assert.equal(ready.ok, false);
    assert.match(ready.detail, new RegExp(`stream stopped for agent\\(s\\) ${agentId}`));
    assert.equal(metrics.live().ok, true, 'a stopped stream is a reason not to be ready, not to be restarted');
  });

  it('after a restart, follows an agent it followed before from its saved journal directory, with nothing else to find it by', async (t) => {
    const w = await world();
    t.after(() => w.journal.close());
    await w.write('/before', 'seen by the first run');
    const first = await follower(w);
    for (let i = 0; i < 3; i++) await first.step();
    await first.stop();
    await w.write('/after', 'written while the replica was down; the agent is gone from every listing');
    const again = await follower(w, []);
    for (let i = 0; i < 3; i++) await again.step();
    assert.equal(await fsp.readFile(nodePath.join(w.mirrorDir, 'after'), 'utf8'), 'written while the replica was down; the agent is gone from every listing');
    await again.stop();
  });
});
