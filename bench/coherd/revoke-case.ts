import { randomBytes } from 'node:crypto';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import { latencyMetrics } from '../stats';
import { nowMs, sleep, throwIfAborted } from '../timing';
import type { BenchCase, BenchContext, Metrics } from '../types';
import { startCoordinatorProcess } from './cli-process';
import { measureRelayFloor } from './relay-floor';

/**
 * Held tokens must be older than the coordinator's adaptive minimum hold
 * (10–200 ms, hold-policy.ts) before they are revoked; wait longer than
 * its maximum so no sample includes a hold.
 */
const HOLD_AGE_MS = 250;
const RANGE = { start: 0, end: 4096 };

/**
 * P5: revoke round trip with the holder alive and clean. The coordinator
 * runs in its own process; holder A and requester B are CoherdClients
 * (own sessions and streams) in this process. A takes a data WRITE token
 * on each of N fresh resources, then waits HOLD_AGE_MS; A answers every
 * revoke at once ({ released: true }, nothing dirty to flush). Then, one
 * resource at a time, B asks for a conflicting WRITE token: the sample is
 * B's acquire call → B's grant (B → coordinator → Revoke to A → RevokeAck
 * → grant to B). B's release is awaited between samples, untimed.
 */
export async function measureRevokeRoundTrip(ctx: BenchContext): Promise<Metrics> {
  const { revokeSamples, revokeWarmup } = ctx.profile;
  const coordinator = await startCoordinatorProcess({ etcdEndpoints: [ctx.etcdEndpoint], cleanup: ctx.cleanup });
  try {
    const endpoints = [coordinator.address];
    const holder = await CoherdClient.connect({ endpoints, clientName: 'p5-holder', logger: ctx.logger });
    const closeHolder = ctx.cleanup.add({ name: 'P5 holder', run: () => holder.close() });
    const requester = await CoherdClient.connect({ endpoints, clientName: 'p5-requester', logger: ctx.logger });
    const closeRequester = ctx.cleanup.add({ name: 'P5 requester', run: () => requester.close() });
    try {
      let revokes = 0;
      holder.setRevokeHandler(async () => {
        revokes++;
        return { released: true };
      });
      const suffix = randomBytes(4).toString('hex');
      const total = revokeWarmup + revokeSamples;
      const resources: string[] = [];
      for (let i = 0; i < total; i++) {
        const resource = `bench/p5/${suffix}/${i}`;
        await holder.acquire({ resource, space: 'data', mode: 'WRITE', range: RANGE });
        resources.push(resource);
      }
      await sleep(HOLD_AGE_MS, ctx.signal);

      const latenciesMs: number[] = [];
      for (const [i, resource] of resources.entries()) {
        throwIfAborted(ctx.signal);
        const t0 = nowMs();
        const grant = await requester.acquire({ resource, space: 'data', mode: 'WRITE', range: RANGE });
        const elapsed = nowMs() - t0;
        if (i >= revokeWarmup) latenciesMs.push(elapsed);
        await requester.release(grant.lockId);
      }
      if (revokes !== total) throw new Error(`expected ${total} revokes of the holder's tokens, saw ${revokes}`);
      if (holder.heldGrants().length !== 0) throw new Error(`holder still holds ${holder.heldGrants().length} tokens after the revokes`);
      return latencyMetrics(latenciesMs);
    } finally {
      await closeRequester();
      await closeHolder();
    }
  } finally {
    await coordinator.stop();
  }
}

export function revokeCase(): BenchCase {
  return {
    id: 'P5',
    title: 'revoke round trip, holder alive and clean: latency of the conflicting acquire',
    subjects: [
      { name: 'coherd', role: 'coherd', measure: measureRevokeRoundTrip },
      { name: 'grpc-relay', role: 'reference', measure: measureRelayFloor },
    ],
  };
}
