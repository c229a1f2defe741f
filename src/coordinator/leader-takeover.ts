import type { Clock } from '../common/clock';
import type { Logger } from '../common/logger';

/** What a takeover loads from etcd: the sessions' registry as the coordinator uses it. */
export interface TakeoverRegistry {
  startWatching(): Promise<void>;
  restoreFromEtcd(): Promise<string[]>;
  tombstoneWaitMs(): Promise<number>;
  forgetAll(): unknown;
  close(): Promise<void>;
}

export interface TakeoverDeps {
  registry: TakeoverRegistry;
  /** True while the reign won at `epoch` lasts (still leading, same epoch, not stopping). */
  reignLasts(epoch: number): boolean;
  clock: Clock;
  logger: Logger;
  /** Test-only failpoint: wait this long after loading (widens the window in which a reign can end). */
  delayMs?: number;
  /** Pause before loading again after etcd failed. Default 500. */
  retryMs?: number;
}

export interface TakenOver {
  epoch: number;
  restored: string[];
  evictedWaitMs: number;
}

/**
 * Loads what the leader of the reign won at `epoch` needs: the session
 * watch, the sessions in etcd (they await reclaims) and the evicted
 * holders' deadlines. Leadership can be lost and won again while etcd
 * answers (a coordinator cut from etcd): a takeover whose reign ended by
 * then keeps nothing and resolves undefined — serving with it would grant
 * fencing tokens of the old epoch, below those of the leader in between,
 * and know sessions from before that leader. An etcd error while the
 * reign lasts is retried (it never rejects: a rejection here once killed
 * the coordinator as an unhandled promise).
 */
export async function loadTakeover(epoch: number, d: TakeoverDeps): Promise<TakenOver | undefined> {
  for (;;) {
    try {
      await d.registry.startWatching();
      const restored = await d.registry.restoreFromEtcd();
      const evictedWaitMs = await d.registry.tombstoneWaitMs();
      if (d.delayMs) await new Promise((r) => d.clock.setTimer(d.delayMs as number, () => r(undefined)));
      if (d.reignLasts(epoch)) return { epoch, restored, evictedWaitMs };
      d.logger.warn('leadership changed while taking over; dropping this takeover', { epoch });
    } catch (e) {
      if (d.reignLasts(epoch)) {
        d.logger.warn('taking over failed; loading again', { epoch, error: (e as Error).message });
        d.registry.forgetAll();
        await d.registry.close();
        await new Promise((r) => d.clock.setTimer(d.retryMs ?? 500, () => r(undefined)));
        continue;
      }
      d.logger.warn('taking over failed and the reign is over', { epoch, error: (e as Error).message });
    }
    d.registry.forgetAll();
    await d.registry.close();
    return undefined;
  }
}
