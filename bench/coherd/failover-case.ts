import * as fs from 'node:fs';
import * as path from 'node:path';
import { AdminClient } from '../../src/agent/client/admin-client';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import { nowMs, sleep, throwIfAborted } from '../timing';
import type { BenchCase, BenchContext, Metrics } from '../types';
import { CoordinatorProcess, freshPrefix, startCoordinatorProcess } from './cli-process';
import { startEtcdCluster } from './etcd-trio';

const LEADER_TTL_S = 2;
const SESSION_TTL_S = 8;
const COORDINATORS = 3;
/** Grants the loop must have made before the kill (it is running steadily). */
const GRANTS_BEFORE_KILL = 20;
/** Give up on a failover (and on finding the leader) after this long. */
const FAILOVER_LIMIT_MS = 30_000;

/** A client that loops acquire → release on one key and notes the first grant of each new epoch. */
class GrantLoop {
  grants = 0;
  errors = 0;
  maxEpoch = 0;
  maxEpochFirstGrantAtMs = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(private readonly client: CoherdClient, key: string) {
    this.done = this.loop(key);
  }

  private async loop(key: string): Promise<void> {
    while (this.running) {
      try {
        const g = await this.client.acquire({ resource: key, space: 'range', mode: 'EXCLUSIVE', range: { start: 0, end: 1 }, timeoutMs: FAILOVER_LIMIT_MS });
        const at = nowMs();
        this.grants++;
        if (g.fencingToken.epoch > this.maxEpoch) {
          this.maxEpoch = g.fencingToken.epoch;
          this.maxEpochFirstGrantAtMs = at;
        }
        await this.client.release(g.lockId);
      } catch {
        // Stream lost mid-request, the new leader still recovering…: the client resumes; try again shortly.
        this.errors++;
        if (this.client.isFenced()) return;
        await sleep(10);
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

async function findLeader(members: CoordinatorProcess[], signal: AbortSignal): Promise<CoordinatorProcess> {
  const deadline = nowMs() + FAILOVER_LIMIT_MS;
  while (nowMs() < deadline) {
    throwIfAborted(signal);
    for (const m of members) {
      if (m.exited()) continue;
      const status = await new AdminClient([m.address], undefined, 1000).status().catch(() => undefined);
      if (status?.role === 'LEADER') return m;
    }
    await sleep(50, signal);
  }
  throw new Error(`no coordinator reported LEADER within ${FAILOVER_LIMIT_MS} ms`);
}

async function waitUntil(cond: () => boolean, limitMs: number, what: string, signal: AbortSignal): Promise<void> {
  const deadline = nowMs() + limitMs;
  while (!cond()) {
    if (nowMs() > deadline) throw new Error(`${what}: not within ${limitMs} ms`);
    await sleep(5, signal);
  }
}

/**
 * P7: leader killed → next grant. A 3-member etcd cluster, 3 coordinator
 * processes (--leader-ttl 2 --session-ttl 8) and one client looping
 * acquire → release on a range lock. Once the loop runs steadily, the
 * coordinator reporting LEADER (AdminClient.status) gets kill -9; failoverMs
 * is the time from the kill to the first grant carrying a larger fencing
 * epoch (the new leader's). The killed coordinator is then started again
 * on its old address, and must come back as a standby that serves.
 */
export async function measureFailover(ctx: BenchContext): Promise<Metrics> {
  const dataRoot = await fs.promises.mkdtemp(path.join(ctx.workDir, 'p7-etcd-'));
  const etcd = await startEtcdCluster(3, dataRoot, ctx.cleanup);
  const members: CoordinatorProcess[] = [];
  const stopMembers = ctx.cleanup.add({ name: 'P7 coordinators', run: async () => void (await Promise.all(members.map((m) => m.stop()))) });
  const args = ['--leader-ttl', String(LEADER_TTL_S), '--session-ttl', String(SESSION_TTL_S)];
  const prefix = freshPrefix();
  try {
    for (let i = 0; i < COORDINATORS; i++) members.push(await startCoordinatorProcess({ etcdEndpoints: etcd.endpoints, prefix, extraArgs: args, cleanup: ctx.cleanup }));
    const client = await CoherdClient.connect({
      endpoints: members.map((m) => m.address), clientName: 'p7', ttlMs: SESSION_TTL_S * 1000, connectTimeoutMs: 15_000, logger: ctx.logger,
    });
    const closeClient = ctx.cleanup.add({ name: 'P7 client', run: () => client.close() });
    const loop = new GrantLoop(client, `bench/p7/${path.basename(dataRoot)}`);
    try {
      await waitUntil(() => loop.grants >= GRANTS_BEFORE_KILL, FAILOVER_LIMIT_MS, 'grant loop warm-up', ctx.signal);
      const leader = await findLeader(members, ctx.signal);
      const epochBefore = loop.maxEpoch;
      const grantsBefore = loop.grants;
      const killedAt = nowMs();
      await leader.kill9();
      await waitUntil(() => loop.maxEpoch > epochBefore, FAILOVER_LIMIT_MS, 'first grant of a new leader', ctx.signal);
      const failoverMs = loop.maxEpochFirstGrantAtMs - killedAt;
      const errorsDuringFailover = loop.errors;

      // An operator's supervisor restarts the killed coordinator where clients expect it.
      const restarted = await startCoordinatorProcess({ etcdEndpoints: etcd.endpoints, listen: leader.address, prefix, extraArgs: args, cleanup: ctx.cleanup });
      members[members.indexOf(leader)] = restarted;
      await leader.stop(); // already dead: only deregisters its teardown
      const status = await new AdminClient([restarted.address], undefined, 2000).status();
      if (status.role !== 'STANDBY') throw new Error(`restarted coordinator reports ${String(status.role)}, expected STANDBY`);
      const grantsAfter = loop.grants;
      await waitUntil(() => loop.grants > grantsAfter + 5, FAILOVER_LIMIT_MS, 'grants after the restart', ctx.signal);
      return {
        failoverMs,
        failoverBudgetMs: LEADER_TTL_S * 1000 + 1000,
        leaderTtlMs: LEADER_TTL_S * 1000,
        grantsBeforeKill: grantsBefore,
        clientErrorsDuringFailover: errorsDuringFailover,
      };
    } finally {
      await loop.stop();
      await closeClient();
    }
  } finally {
    await stopMembers();
    await etcd.stop();
    await fs.promises.rm(dataRoot, { recursive: true, force: true });
  }
}

export function failoverCase(): BenchCase {
  return {
    id: 'P7',
    title: 'leader killed → first grant of the new leader (3 coordinators, 3 etcd members, leader TTL 2 s)',
    subjects: [{ name: 'coherd', role: 'coherd', measure: measureFailover }],
  };
}
