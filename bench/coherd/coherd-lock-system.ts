import { CoherdClient } from '../../src/agent/client/coherd-client';
import type { LockClient, LockSystem } from '../lock-system';
import { startCoordinatorProcess } from './cli-process';
import type { BenchContext } from '../types';

/** Session TTL of every benchmark client. */
const CLIENT_TTL_MS = 10_000;
/** The locked range: one byte is enough, the lock table treats all ranges alike. */
const RANGE = { start: 0, end: 1 };

/**
 * How a contender gives a lock back:
 * - 'plain': release() sends a Release and waits for the coordinator's answer;
 * - 'pipelined': release() hands the lock id to client.releaseLazily() and
 *   returns at once; the release rides on the contender's next message (its
 *   next Acquire, DESIGN §3.5), so one round trip serves release + acquire.
 */
export type ReleaseStyle = 'plain' | 'pipelined';

/**
 * coherd as a LockSystem for P1–P3: a fresh `coherd coordinator` process on
 * port 0 against the benchmark's etcd (its own process, as deployed and as
 * etcd is for the baselines); every contender is its own CoherdClient (its
 * own session and stream) in the benchmark process taking EXCLUSIVE range locks.
 */
export function coherdLockSystemWith(style: ReleaseStyle): (ctx: BenchContext) => Promise<LockSystem> {
  return async (ctx) => {
    const coordinator = await startCoordinatorProcess({ etcdEndpoints: [ctx.etcdEndpoint], cleanup: ctx.cleanup });
    return {
      async connect(clientName: string): Promise<LockClient> {
        const client = await CoherdClient.connect({ endpoints: [coordinator.address], clientName, ttlMs: CLIENT_TTL_MS, logger: ctx.logger });
        return {
          async acquire(key: string) {
            const grant = await client.acquire({ resource: key, space: 'range', mode: 'EXCLUSIVE', range: RANGE });
            if (style === 'pipelined') return { release: async () => client.releaseLazily(grant.lockId) };
            return { release: () => client.release(grant.lockId) };
          },
          close: () => client.close(),
        };
      },
      close: () => coordinator.stop(),
    };
  };
}

/** P1–P3 (plugins.ts `lockSystem`): releases wait for their answer. */
export const coherdLockSystem = coherdLockSystemWith('plain');

/** P3 also (plugins.ts `pipelinedLockSystem`): releases ride on the next acquire. */
export const coherdPipelinedLockSystem = coherdLockSystemWith('pipelined');
