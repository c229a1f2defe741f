import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentCluster, ShProcess } from '../support/agent-cluster';
import { mapOnce, startMappedReader } from '../support/mapped-reader';

/**
 * The cache fence (docs/fuse.md, "The cache fence"): a MAP_SHARED mapping's
 * pages are read by the MMU with no request, so while agent A is
 * SIGSTOPped past its lease, only the fence (a process of its own) can
 * drop them before another host writes. Two real agents (page cache on,
 * TTL 3 s), real etcd and coordinator; the mapping is made by python3 in
 * a child process on A's mount.
 */
const TTL_S = 3;
const OLD = 'old-bytes-000000';
const NEW = 'new-bytes-111111';
let cluster: AgentCluster;
let round = 0;
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const WRITE = 'import os, sys\nfd = os.open(sys.argv[1], os.O_WRONLY)\nos.pwrite(fd, sys.argv[2].encode(), 0)\nos.close(fd)';
/**
 * What a test file starting beside this one does first: sweepLeftoverMounts()
 * (test/support/fuse-mount.ts), in a process of its own; prints the mount
 * points it detached.
 */
const SWEEP = 'require(process.argv[1]).sweepLeftoverMounts().then((s) => { console.log(JSON.stringify(s)); process.exit(0); })';
const SWEEPER_MODULE = nodePath.join(__dirname, '..', 'support', 'fuse-mount.js');

/**
 * Runs SWEEP beside this test and resolves with what it printed. Its exit
 * may wait for A: a probe's stat of A's stopped mount holds a pool thread
 * that the process joins on exit. So the caller reaps it (`done`) once A runs.
 */
async function sweepBeside(): Promise<{ swept: string[]; done: ShProcess }> {
  const done = cluster.spawnSh(`${q(process.execPath)} -e ${q(SWEEP)} ${q(SWEEPER_MODULE)}`);
  let out = '';
  done.child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!out.includes('\n')) {
    if (Date.now() > deadline) throw new Error('the sweep printed nothing within 20 s');
    await sleep(20);
  }
  return { swept: JSON.parse(out.trim()) as string[], done };
}

interface PausedRead {
  name: string;
  /** What the mapping showed within 1.5 s of being asked while A was still stopped ('' if the read was waiting). */
  whilePaused: string;
  /** What it showed in the end (after A was continued); '' if the read failed (SIGBUS: see below). */
  final: string;
  /** How the reader ended (0, or a signal). */
  exit: string;
  /** The mounts a sweep by another test process detached while A was stopped (none of this cluster's: its root records a live owner). */
  swept: string[];
}

/**
 * A's child maps the file and reads it; A is stopped; B writes new bytes
 * (it waits for A's session to expire); another process sweeps leftover
 * test mounts, as a test file starting meanwhile does; the child reads the
 * mapping again while A is still stopped, and what it printed is taken
 * 1.5 s later; then A is continued.
 */
async function readAcrossPause(): Promise<PausedRead> {
  const name = `mapped-${++round}`;
  await cluster.sh(`printf ${q(OLD)} > ${q(cluster.mnt(0, name))}`);
  const reader = await startMappedReader(cluster, cluster.mnt(0, name), name, OLD);
  await cluster.killAgent(0, 'SIGSTOP');
  let whilePaused = '';
  let swept: string[] = [];
  let sweeper: ShProcess | undefined;
  try {
    // Granted once A's session expired (TTL + 1 s): A's fence fired before that.
    await cluster.sh(`python3 -c ${q(WRITE)} ${q(cluster.mnt(1, name))} ${q(NEW)}`, { timeoutMs: 20_000 });
    // A stopped agent's mount does not answer: a sweep that took it for a leftover detached it (its probe waits 2 s).
    const sweep = await sweepBeside();
    swept = sweep.swept;
    sweeper = sweep.done;
    await reader.go();
    await sleep(1500);
    whilePaused = reader.printed();
  } finally {
    await cluster.killAgent(0, 'SIGCONT');
  }
  await sweeper?.result(30_000);
  const r = await reader.result(30_000);
  return { name, whilePaused, final: r.stdout.trim(), exit: String(r.signal ?? r.code), swept };
}

describe('the cache fence of a paused agent', () => {
  before(async () => {
    cluster = await AgentCluster.start({ agents: 2, ttlSeconds: TTL_S, agentArgs: ['--kernel-page-cache', 'yes'] });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('drops a shared mapping\'s pages on A once A\'s lease passed while A is stopped: the mapping never shows the bytes B overwrote', { timeout: 90_000 }, async (t) => {
    const session = cluster.agents[0].sessionId;
    const seen = await readAcrossPause();
    t.diagnostic(`while A was stopped: ${JSON.stringify(seen.whilePaused)}, after: ${JSON.stringify(seen.final)} (exit ${seen.exit})`);
    assert.equal(seen.whilePaused, '', 'A\'s mapping read must wait for A (its page was dropped), not show bytes');
    // Resumed, A finds itself fenced and fails the READs that waited (EIO: DESIGN §5) until its new session:
    // the fault then ends in SIGBUS. Never in the old bytes.
    assert.ok(seen.final === NEW || (seen.final === '' && seen.exit === '135'), `after A resumed the mapping showed ${JSON.stringify(seen.final)} (exit ${seen.exit})`);
    assert.match(cluster.agents[0].recentLog, /cache fence fired/, 'A logs that its fence fired');
    await cluster.agents[0].waitForNewSession(session, 15_000);
    // The file opens on A right after its new session, and shows B's bytes. It failed with ENOENT for the rest
    // of the test in some runs: the sweep above (run by other test files started meanwhile) had detached A's
    // mount (docs/fuse.md, "Seen on the way"). A few attempts, each failure reported.
    let again = { ok: false, text: '' };
    for (let attempt = 1; attempt <= 3 && !again.ok; attempt++) {
      again = await mapOnce(cluster, cluster.mnt(0, seen.name));
      if (!again.ok) {
        t.diagnostic(`a new mapping on A after its new session, attempt ${attempt}: ${again.text}`);
        await sleep(200);
      }
    }
    assert.ok(again.ok, `the file opens on A right after its new session: ${again.text} (the sweep detached ${JSON.stringify(seen.swept)})`);
    assert.equal(again.text, NEW, 'a new mapping on A shows B\'s bytes');
    const ours = seen.swept.filter((m) => m.startsWith(`${cluster.root}/`));
    assert.deepEqual(ours, [], 'a sweep of leftover mounts by another test process leaves the mounts of this live one alone');
  });

  it('leaves no fence holding the connection of an agent killed while stopped, even with a drop waiting on a READ the agent never answered', { timeout: 90_000 }, async () => {
    const fencePid = Number([...cluster.agents[0].recentLog.matchAll(/"message":"cache fence started"[^\n]*"pid":(\d+)/g)].pop()?.[1]);
    assert.ok(fencePid > 0, 'A logged its fence\'s pid');
    const name = `killed-${++round}`;
    // 16 MiB: the page read at 8 MiB lies far beyond the readahead of the first page's fault.
    await cluster.sh(`python3 -c ${q('import sys\nopen(sys.argv[1], "wb").write(sys.argv[2].encode() * 1048576)')} ${q(cluster.mnt(0, name))} ${q(OLD)}`);
    const reader = await startMappedReader(cluster, cluster.mnt(0, name), name, OLD, 8 * 1024 * 1024);
    await cluster.killAgent(0, 'SIGSTOP');
    await sleep(200);
    // The read of a page not cached yet: its READ waits for the stopped agent with the page locked, and the
    // fence's drop of the file (at A's deadline) waits on that page.
    await reader.go();
    await sleep((TTL_S + 1) * 1000);
    await cluster.killAgent(0, 'SIGKILL');
    const r = await reader.result(20_000).catch(async (e: Error) => {
      const holders = (await cluster.run('for p in /proc/[0-9]*; do ls -l $p/fd 2>/dev/null | grep -q /dev/fuse && echo "$p $(tr "\\0" " " < $p/cmdline | cut -c1-80) $(grep State $p/status)"; done')).stdout;
      throw new Error(`${e.message.split('\n')[0]}\nfence ${fencePid}: ${existsSync(`/proc/${fencePid}`) ? readFileSync(`/proc/${fencePid}/status`, 'utf8').split('\n').slice(0, 3).join(' ') : 'gone'}\n/dev/fuse held by:\n${holders}`);
    });
    assert.equal(r.stdout.trim(), '', `the mapping showed no bytes (exit ${r.signal ?? r.code})`);
    assert.equal(String(r.signal ?? r.code), '135', `the waiting read fails (SIGBUS) once the connection is gone: ${r.stderr}`);
    await sleep(500);
    assert.equal(existsSync(`/proc/${fencePid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${fencePid}/status`, 'utf8')), false, 'A\'s fence exited');
    await cluster.restartAgent(0);
  });

  it('drops a killed agent\'s mapped pages at its death: the mapping fails (SIGBUS) instead of showing bytes another host replaced', { timeout: 90_000 }, async () => {
    const name = `died-${++round}`;
    await cluster.sh(`printf ${q(OLD)} > ${q(cluster.mnt(0, name))}`);
    const reader = await startMappedReader(cluster, cluster.mnt(0, name), name, OLD);
    // Killed while running: nobody would drop the page any more, and the connection goes with the fence.
    await cluster.killAgent(0, 'SIGKILL');
    try {
      await cluster.sh(`python3 -c ${q(WRITE)} ${q(cluster.mnt(1, name))} ${q(NEW)}`, { timeoutMs: 20_000 });
      await reader.go();
      const r = await reader.result(20_000);
      assert.notEqual(r.stdout.trim(), OLD, 'the dead agent\'s mapping shows the bytes B replaced');
      assert.equal(String(r.signal ?? r.code), '135', `the read fails (SIGBUS): the page is gone and nobody serves the mount (printed ${JSON.stringify(r.stdout.trim())})`);
    } finally {
      await cluster.restartAgent(0);
    }
  });

  it('fails with the fence planted away: A\'s mapping then shows the old bytes while A is stopped (the check above can fail)', { timeout: 90_000 }, async () => {
    process.env.COHERD_TEST_PLANT = 'no-cache-fence';
    try {
      await cluster.restartAgent(0);
    } finally {
      delete process.env.COHERD_TEST_PLANT;
    }
    try {
      const seen = await readAcrossPause();
      assert.equal(seen.whilePaused, OLD, 'without the fence A\'s mapping keeps the page it cached');
    } finally {
      await cluster.restartAgent(0);
    }
  });
});
