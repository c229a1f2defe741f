import type { LockClient } from '../lock-system';
import { BenchAbortedError, nowMs, withTimeout } from '../timing';
import type { BenchContext } from '../types';
import { ExclusionCheck } from './exclusion-check';

export interface ContentionResult {
  /** Grants that arrived inside the window. */
  grants: number;
  /** Of those, grants that went to another contender than the previous grant of the same key. */
  holderChanges: number;
  /** Length of the window, ms. */
  windowMs: number;
  /** Grants per contender inside the window (fairness). */
  perContender: number[];
}

/** Extra time contenders get after the window to finish their last acquire+release. */
const DRAIN_MS = 30_000;

/**
 * Every contender loops acquire → release on keyOf(i), with no hold time,
 * until the window closes; then each finishes its pending acquire (at most
 * one grant per contender after the window, not counted). Grants are
 * checked for overlap; an overlap fails the measurement.
 */
export async function runContention(
  ctx: BenchContext,
  clients: LockClient[],
  keyOf: (contender: number) => string,
  windowMs: number,
): Promise<ContentionResult> {
  const check = new ExclusionCheck();
  const perContender = clients.map(() => 0);
  let holderChanges = 0;
  let failed = false;
  const start = nowMs();
  const end = start + windowMs;

  async function contender(i: number): Promise<void> {
    const key = keyOf(i);
    const name = `c${i}`;
    try {
      while (!failed && nowMs() < end) {
        if (ctx.signal.aborted) throw new BenchAbortedError();
        const held = await clients[i].acquire(key);
        const grantedAt = nowMs();
        const changed = check.enter(key, name);
        if (grantedAt <= end) {
          perContender[i]++;
          if (changed) holderChanges++;
        }
        check.leave(key, name);
        await held.release();
      }
    } catch (e) {
      failed = true;
      throw e;
    }
  }

  await withTimeout(Promise.all(clients.map((_, i) => contender(i))), windowMs + DRAIN_MS, 'contention loop', ctx.signal);
  check.assertSerialised('contention loop');
  return { grants: perContender.reduce((a, b) => a + b, 0), holderChanges, windowMs, perContender };
}
