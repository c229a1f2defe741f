import { randomBytes } from 'node:crypto';
import { connectContenders, LockSystemSpec, withLockSystem } from '../lock-system';
import { perSecond } from '../stats';
import type { BenchCase, BenchContext, Metrics, Subject } from '../types';
import { runContention } from './contention-loop';

/**
 * P3: profile.contenders contenders, each on its own key, all running at
 * once: each issues its next acquire as soon as its release returns, without
 * waiting for the others. Measures total grants/s. Overlaps are still
 * checked per key.
 */
export async function measurePipelined(ctx: BenchContext, spec: LockSystemSpec): Promise<Metrics> {
  const { profile } = ctx;
  return withLockSystem(ctx, spec, async (system) => {
    const { clients, close } = await connectContenders(ctx, system, 'p3', profile.contenders);
    try {
      const suffix = randomBytes(4).toString('hex');
      const keyOf = (i: number) => `bench/p3/${suffix}/${i}`;
      await Promise.all(
        clients.map(async (client, i) => {
          for (let n = 0; n < profile.warmupOps; n++) await (await client.acquire(keyOf(i))).release();
        }),
      );
      const r = await runContention(ctx, clients, keyOf, profile.contendedWindowMs);
      return {
        grantsPerSec: perSecond(r.grants, r.windowMs),
        minContenderGrantsPerSec: perSecond(Math.min(...r.perContender), r.windowMs),
      };
    } finally {
      await close();
    }
  });
}

export function pipelinedCase(specs: LockSystemSpec[]): BenchCase {
  return {
    id: 'P3',
    title: '8 contenders, 8 resources, pipelined: grants/s',
    subjects: specs.map<Subject>((spec) => ({
      name: spec.name,
      role: spec.role,
      measure: (ctx) => measurePipelined(ctx, spec),
    })),
  };
}
