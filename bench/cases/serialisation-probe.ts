import type { LockClient } from '../lock-system';
import { sleep, withTimeout } from '../timing';
import type { BenchContext } from '../types';
import { SerialisationViolatedError } from './exclusion-check';

/** How long the second contender may take to get the lock once the first released it. */
const HANDOFF_LIMIT_MS = 5000;

/**
 * Checks, before any figure is taken, that the service really serialises:
 * A holds `key`; B's acquire must stay pending for probeMs; once A
 * releases, B must get the lock. Throws SerialisationViolatedError otherwise.
 */
export async function probeSerialisation(
  ctx: BenchContext,
  a: LockClient,
  b: LockClient,
  key: string,
  probeMs: number,
): Promise<void> {
  const heldByA = await a.acquire(key);
  let bGranted = false;
  const bAcquire = b.acquire(key).then((held) => {
    bGranted = true;
    return held;
  });
  bAcquire.catch(() => {}); // observed below; avoid an unhandled rejection meanwhile
  try {
    await sleep(probeMs, ctx.signal);
    if (bGranted) throw new SerialisationViolatedError(`${key}: second contender was granted while the first held the lock`);
  } finally {
    await heldByA.release();
  }
  const heldByB = await withTimeout(bAcquire, HANDOFF_LIMIT_MS, 'hand-off after release', ctx.signal);
  await heldByB.release();
}
