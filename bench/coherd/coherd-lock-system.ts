import { CoherdClient } from '../../src/agent/client/coherd-client';
import { startCoordinator } from '../../src/coordinator/coordinator';
import type { LockClient, LockSystem } from '../lock-system';
import type { BenchContext } from '../types';

/** Session TTL of every benchmark client. */
const CLIENT_TTL_MS = 10_000;
/** The locked range: one byte is enough, the lock table treats all ranges alike. */
const RANGE = { start: 0, end: 1 };

/**
 * coherd as a LockSystem for P1–P3: a fresh coordinator on port 0 against
 * the benchmark's etcd; every contender is its own CoherdClient (its own
 * connection and session) taking EXCLUSIVE range locks.
 * Wire it in plugins.ts: `lockSystem: coherdLockSystem`.
 */
export async function coherdLockSystem(ctx: BenchContext): Promise<LockSystem> {
  const coordinator = await startCoordinator({
    etcdEndpoints: [ctx.etcdEndpoint],
    listen: '127.0.0.1:0',
    logger: ctx.logger,
  });
  return {
    async connect(clientName: string): Promise<LockClient> {
      const client = await CoherdClient.connect({ endpoints: [coordinator.address], clientName, ttlMs: CLIENT_TTL_MS, logger: ctx.logger });
      return {
        async acquire(key: string) {
          const grant = await client.acquire({ resource: key, space: 'range', mode: 'EXCLUSIVE', range: RANGE });
          return { release: () => client.release(grant.lockId) };
        },
        close: () => client.close(),
      };
    },
    close: () => coordinator.stop(),
  };
}
