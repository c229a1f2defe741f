import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { SystemClock } from '../../src/common/clock';
import { LoopSlicer } from '../../src/common/loop-slicer';
import { silentLogger } from '../../src/common/logger';
import { PacedClock } from '../../src/common/paced-clock';
import { Election } from '../../src/coordinator/election';
import { EtcdKeys } from '../../src/coordinator/etcd-keys';
import { LeaseKeeper } from '../../src/coordinator/lease-keeper';
import { LockTable } from '../../src/coordinator/lock-table/lock-table';
import type { LockTableEvent } from '../../src/coordinator/lock-table/types';
import { eventually } from '../support/eventually';
import { EtcdProcess, startEtcd } from '../support/etcd';

let etcd: EtcdProcess;

before(async () => {
  etcd = await startEtcd();
});

after(async () => {
  await etcd?.stop();
});

const TTL_MS = 2000;

/** Blocks the event loop: what a runaway request or a long GC does to a leader. */
function plantStall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* stalled */ }
}

/**
 * A real election in etcd and a lock table guarded like the coordinator's
 * (mayAct), one waiter with a timeout armed; then the loop is stalled past
 * the leadership deadline.
 */
async function leaderThenStall(prefix: string, guarded: boolean) {
  const client = new Etcd3({ hosts: etcd.endpoint });
  const clock = new SystemClock();
  const logger = silentLogger();
  const keeper = new LeaseKeeper(client, clock, logger);
  const keys = new EtcdKeys(prefix);
  const election = new Election({ etcd: client, keys, keeper, clock, logger, coordinatorId: 'stalled', address: '127.0.0.1:1', ttlMs: TTL_MS });
  await election.campaign();
  assert.ok(election.isLeader());
  const lost = new Promise<string>((resolve) => election.once('lost', resolve));
  const events: LockTableEvent[] = [];
  const slicer = new LoopSlicer();
  const table = new LockTable({
    clock: new PacedClock(clock, slicer), epoch: election.epoch, onEvent: (e) => events.push(e), slicer,
    mayAct: guarded ? () => election.stillLeading() : () => true,
  });
  const range = { start: 0, end: 10 };
  table.acquire({ requestId: 'held', resource: 'r', space: 'range', mode: 'EXCLUSIVE', range, holder: { sessionId: 'a', owner: '' }, wait: false });
  table.acquire({ requestId: 'waits', resource: 'r', space: 'range', mode: 'EXCLUSIVE', range, holder: { sessionId: 'b', owner: '' }, wait: true, timeoutMs: 300 });
  plantStall(TTL_MS + 500);
  const stop = async () => {
    await election.resign();
    keeper.close();
    client.close();
  };
  return { election, lost, events, client, keys, stop };
}

test('a leader whose loop stalled past its leadership deadline steps down, and its table acts on nothing after it', async () => {
  const { election, lost, events, client, keys, stop } = await leaderThenStall('/stall-guarded/', true);
  try {
    assert.equal(election.isLeader(), false, 'past the deadline it no longer claims to lead');
    assert.equal(await lost, 'leadership deadline passed');
    await new Promise((r) => setTimeout(r, 200)); // the waiter's overdue timeout has had its turn
    assert.deepEqual(events.filter((e) => e.kind === 'failed'), [], 'the timeout due during the stall did not act on the expired lease');
    await eventually(async () => assert.equal(await client.get(keys.leader).string(), null));
  } finally {
    await stop();
  }
});

test('planted bug: a table that does not ask whether it still leads acts on the expired lease, which the check above catches', async () => {
  const { lost, events, stop } = await leaderThenStall('/stall-unguarded/', false);
  try {
    await lost;
    await eventually(async () => assert.equal(events.filter((e) => e.kind === 'failed').length, 1));
  } finally {
    await stop();
  }
});
