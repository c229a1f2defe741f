import { randomBytes } from 'node:crypto';
import { connectContenders, LockSystemSpec, withLockSystem } from '../lock-system';
import { perSecond } from '../stats';
import type { BenchCase, BenchContext, Metrics, Subject } from '../types';
import { runContention } from './contention-loop';
import { probeSerialisation } from './serialisation-probe';

/**
 * P2: profile.contenders contenders, each with its own connection and
 * session, loop acquire → release on one key for profile.contendedWindowMs.
 * A hand-off is one grant of the contended key. Before measuring, the
 * service must pass the serialisation probe.
 */
export async function measureContended(ctx: BenchContext, spec: LockSystemSpec): Promise<Metrics> {
  const { profile } = ctx;
  return withLockSystem(ctx, spec, async (system) => {
    const { clients, close } = await connectContenders(ctx, system, 'p2', profile.contenders);
    try {
      const suffix = randomBytes(4).toString('hex');
      await probeSerialisation(ctx, clients[0], clients[1], `bench/p2-probe/${suffix}`, profile.serialisationProbeMs);
      const key = `bench/p2/${suffix}`;
      for (let i = 0; i < profile.warmupOps; i++) await (await clients[i % clients.length].acquire(key)).release();

      const r = await runContention(ctx, clients, () => key, profile.contendedWindowMs);
      return {
        handoffsPerSec: perSecond(r.grants, r.windowMs),
        holderChangesPerSec: perSecond(r.holderChanges, r.windowMs),
        minContenderGrants: Math.min(...r.perContender),
        maxContenderGrants: Math.max(...r.perContender),
        serialisationVerified: 1,
      };
    } finally {
      await close();
    }
  });
}

export function contendedCase(specs: LockSystemSpec[]): BenchCase {
  return {
    id: 'P2',
    title: '8 contenders, one resource: hand-offs/s',
    subjects: specs.map<Subject>((spec) => ({
      name: spec.name,
      role: spec.role,
      measure: (ctx) => measureContended(ctx, spec),
    })),
  };
}
