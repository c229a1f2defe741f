import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { collect, runCli, spawnCli, startCluster, TestCluster } from '../support/cluster';
import { CoherdClient } from '../../src/agent/client/coherd-client';

let cluster: TestCluster;
let dir: string;

before(async () => {
  cluster = await startCluster();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-lock-cli-'));
});

after(async () => {
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A command that logs "start NAME" and "end NAME" around a sleep, to see overlap. */
function loggedSleep(log: string, name: string, seconds: number): string[] {
  return ['sh', '-c', `echo "start ${name} $COHERD_FENCING_TOKEN" >> ${log}; sleep ${seconds}; echo "end ${name}" >> ${log}`];
}

async function waitForFile(file: string, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (fs.existsSync(file) && pattern.test(fs.readFileSync(file, 'utf8'))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${file} never matched ${pattern}`);
}

test('two exclusive locks on overlapping ranges serialize: the second waits, then runs', async () => {
  const log = path.join(dir, 'exclusive.log');
  const c = ['--coordinator', cluster.coordinator.address];
  const first = collect(spawnCli(['lock', 'res-x', '--range', '0:100', ...c, '--', ...loggedSleep(log, 'A', 1)]));
  await waitForFile(log, /start A/);
  const second = collect(spawnCli(['lock', 'res-x', '--range', '50:150', ...c, '--', ...loggedSleep(log, 'B', 0)]));
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(' ').slice(0, 2).join(' ')), ['start A', 'end A', 'start B', 'end B']);
  const tokenA = lines[0].split(' ')[2].split('.').map(Number);
  const tokenB = lines[2].split(' ')[2].split('.').map(Number);
  assert.ok(tokenB[0] > tokenA[0] || (tokenB[0] === tokenA[0] && tokenB[1] > tokenA[1]), `fencing ${tokenA} < ${tokenB}`);
});

test('shared locks on one range run together', async () => {
  const log = path.join(dir, 'shared.log');
  const c = ['--coordinator', cluster.coordinator.address, '--mode', 'shared'];
  const first = collect(spawnCli(['lock', 'res-s', ...c, '--', ...loggedSleep(log, 'A', 1.5)]));
  await waitForFile(log, /start A/);
  const second = collect(spawnCli(['lock', 'res-s', ...c, '--', ...loggedSleep(log, 'B', 0)]));
  await Promise.all([first, second]);
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '));
  assert.deepEqual(lines, ['start A', 'start B', 'end B', 'end A']);
});

test('the command gets its exit status through and nonblock fails at once on a held lock', async () => {
  const c = ['--coordinator', cluster.coordinator.address];
  const ok = await runCli(['lock', 'res-exit', ...c, '--', 'sh', '-c', 'exit 7']);
  assert.equal(ok.code, 7);
  const log = path.join(dir, 'nb.log');
  const holder = collect(spawnCli(['lock', 'res-nb', ...c, '--', ...loggedSleep(log, 'A', 4)]));
  await waitForFile(log, /start A/);
  const nb = await runCli(['lock', 'res-nb', '-n', ...c, '--', 'true']);
  assert.equal(nb.code, 1);
  assert.match(nb.stderr, /conflict|held|taken/i);
  const timed = await runCli(['lock', 'res-nb', '--timeout', '0.2', ...c, '--', 'true']);
  assert.equal(timed.code, 1);
  assert.match(timed.stderr, /time/i);
  await holder;
});

test('kill -9 of the holder frees the lock within TTL + 1 s', async () => {
  const log = path.join(dir, 'kill.log');
  const ttlS = 2;
  const c = ['--coordinator', cluster.coordinator.address];
  const holder = spawnCli(['lock', 'res-kill', '--ttl', String(ttlS), ...c, '--', 'sh', '-c', `echo held >> ${log}; exec sleep 30`]);
  await waitForFile(log, /held/);
  const killedAt = Date.now();
  holder.kill('SIGKILL');
  const client = await CoherdClient.connect({ endpoints: [cluster.coordinator.address], clientName: 'kill-test' });
  try {
    await client.acquire({ resource: 'res-kill', space: 'range', mode: 'EXCLUSIVE', timeoutMs: 10_000 });
    const freedAfterMs = Date.now() - killedAt;
    console.log(`lock freed ${freedAfterMs} ms after kill -9 (TTL ${ttlS * 1000} ms)`);
    assert.ok(freedAfterMs <= ttlS * 1000 + 1000, `freed after ${freedAfterMs} ms`);
  } finally {
    await client.close();
  }
});

test('locks, sessions and evict show and end a holder', async () => {
  const c = ['--coordinator', cluster.coordinator.address];
  const client = await CoherdClient.connect({ endpoints: [cluster.coordinator.address], clientName: 'listed-client', ttlMs: 2000 });
  const fenced = new Promise<string>((r) => client.once('fenced', r));
  try {
    await client.acquire({ resource: 'res-listed', space: 'range', mode: 'SHARED', range: { start: 10, end: 20 } });
    const locks = await runCli(['locks', ...c]);
    assert.equal(locks.code, 0, locks.stderr);
    assert.match(locks.stdout, /RESOURCE\s+SPACE\s+HOLDER\s+MODE\s+RANGE\s+FENCING\s+AGE\s+WAITERS/);
    assert.match(locks.stdout, new RegExp(`res-listed\\s+RANGE_LOCK\\s+${client.sessionId}\\s+SHARED\\s+10:20`));
    const sessions = await runCli(['sessions', ...c]);
    assert.match(sessions.stdout, new RegExp(`${client.sessionId}\\s+listed-client`));
    const evict = await runCli(['evict', client.sessionId, ...c]);
    assert.equal(evict.code, 0, evict.stderr);
    assert.match(evict.stdout, /1 grants freed/);
    assert.equal(await fenced, 'SESSION_EVICTED');
    // Freed once the evicted holder's lease would have run out (at most TTL after its last heartbeat).
    const evictedAt = Date.now();
    let after = await runCli(['locks', ...c, '--json']);
    while (/res-listed/.test(after.stdout) && Date.now() - evictedAt < 3000) {
      await new Promise((r) => setTimeout(r, 100));
      after = await runCli(['locks', ...c, '--json']);
    }
    assert.doesNotMatch(after.stdout, /res-listed/);
  } finally {
    await client.close();
  }
});
