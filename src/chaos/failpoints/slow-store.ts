import { Fault, FaultContext, sleep } from './fault';

/**
 * The shared backing store turns slow: every request the agents make to it
 * (lookup, open, read, write, fsync, rename…) waits 20–400 ms more, for
 * 2–8 s, then the store is fast again. Needs the run's store to be the
 * delaying passthrough (ChaosCluster slowStore, on whenever this fault is
 * in --faults).
 */
export const slowStore: Fault = {
  name: 'slow-store',
  async inject(ctx: FaultContext) {
    const store = ctx.cluster.slowStore;
    const delayMs = ctx.rnd.int(20, 400);
    const forMs = ctx.rnd.int(2000, 8000);
    if (!store) return;
    const f = ctx.rec.faultStarted('slow-store', 'backing', `every backing-store request +${delayMs} ms for ${forMs} ms`);
    const before = await store.setDelay(delayMs);
    try {
      await sleep(forMs);
    } finally {
      const after = await store.setDelay(0).catch(() => before);
      ctx.logger.info('slow store healed', { delayedRequests: after - before });
      ctx.rec.faultEnded(f);
    }
  },
};
