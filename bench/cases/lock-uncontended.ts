import { randomBytes } from 'node:crypto';
import { connectContenders, LockSystemSpec, withLockSystem } from '../lock-system';
import { percentile, perSecond } from '../stats';
import { nowMs, throwIfAborted } from '../timing';
import type { BenchCase, BenchContext, Metrics, Subject } from '../types';

/**
 * P1: one client, one key, acquire then release, one after the other.
 * Each sample is one acquire+release pair measured from the client.
 * Bounded by profile.uncontendedOps and profile.uncontendedMaxMs.
 */
export async function measureUncontended(ctx: BenchContext, spec: LockSystemSpec): Promise<Metrics> {
  const { profile } = ctx;
  return withLockSystem(ctx, spec, async (system) => {
    const { clients, close } = await connectContenders(ctx, system, 'p1', 1);
    try {
      const client = clients[0];
      const key = `bench/p1/${randomBytes(4).toString('hex')}`;
      for (let i = 0; i < profile.warmupOps; i++) await (await client.acquire(key)).release();

      const latenciesMs: number[] = [];
      const start = nowMs();
      const deadline = start + profile.uncontendedMaxMs;
      while (latenciesMs.length < profile.uncontendedOps && nowMs() < deadline) {
        throwIfAborted(ctx.signal);
        const t0 = nowMs();
        const held = await client.acquire(key);
        await held.release();
        latenciesMs.push(nowMs() - t0);
      }
      const elapsedMs = nowMs() - start;
      return {
        p50Ms: percentile(latenciesMs, 50),
        p99Ms: percentile(latenciesMs, 99),
        opsPerSec: perSecond(latenciesMs.length, elapsedMs),
        ops: latenciesMs.length,
      };
    } finally {
      await close();
    }
  });
}

export function uncontendedCase(specs: LockSystemSpec[]): BenchCase {
  return {
    id: 'P1',
    title: 'uncontended acquire+release, one client',
    subjects: specs.map<Subject>((spec) => ({
      name: spec.name,
      role: spec.role,
      measure: (ctx) => measureUncontended(ctx, spec),
    })),
  };
}
