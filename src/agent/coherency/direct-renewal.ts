import type { Clock, TimerHandle } from '../../common/clock';
import type { Logger } from '../../common/logger';
import type { TokenClient } from '../client/types';
import type { HeldToken } from './held-token';

/** How long the agent keeps a DIRECT token before giving it back and asking again (docs/direct-mode.md). */
export const DIRECT_RENEW_MS = 1000;

export interface DirectRenewalOptions {
  clock: Clock;
  client: TokenClient;
  logger?: Logger;
  /** Forgets the token in the cache (it is given back). */
  forget(t: HeldToken): void;
  renewMs?: number;
}

/**
 * DIRECT tokens are given back `renewMs` after their grant, in use or not
 * (docs/direct-mode.md). Nothing is cached under them, so this costs no
 * flush: new uses wait while the ones in flight finish, the token goes
 * (released at once, not lazily, so the coordinator sees it gone), and
 * the next operation asks again. That acquire is how the coordinator
 * learns whether the resource is still shared: a host that stopped using
 * the file asks nothing, and a host left alone gets a caching token back.
 * One timer per DIRECT token (one per resource and space).
 */
export class DirectRenewal {
  private readonly timers = new Map<HeldToken, TimerHandle>();
  readonly renewMs: number;

  constructor(private readonly o: DirectRenewalOptions) {
    this.renewMs = o.renewMs ?? DIRECT_RENEW_MS;
  }

  /** A DIRECT token was granted: give it back after renewMs. */
  schedule(t: HeldToken): void {
    if (this.timers.has(t)) return;
    this.timers.set(t, this.o.clock.setTimer(this.renewMs, () => {
      this.timers.delete(t);
      void this.renew(t);
    }));
  }

  /** The token went otherwise (revoked, session lost). */
  cancel(t: HeldToken): void {
    this.timers.get(t)?.cancel();
    this.timers.delete(t);
  }

  clear(): void {
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
  }

  private renew(t: HeldToken): Promise<void> {
    return t.exclusive(async () => {
      if (!t.alive) return;
      t.block(t.range);
      try {
        await t.waitIdle(t.range);
        if (!t.alive) return;
        this.o.forget(t);
        this.o.client.release(t.lockId).catch((e: unknown) => this.o.logger?.debug('giving back a DIRECT token failed', { lockId: t.lockId, error: String(e) }));
      } finally {
        t.unblock();
      }
    });
  }
}
