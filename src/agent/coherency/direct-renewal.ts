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
  /** Asks for the resource's token again (READ, whole file), the grant going into the cache; the old one is still held. */
  reacquire(t: HeldToken): Promise<void>;
  /** The old token is gone after a renewal: drop what may have been cached beside it meanwhile. */
  retired(t: HeldToken): void;
  /** Renew `t` even if unused: the kernel holds pages read under it that a writer's caching token must revoke first (kernel-pages.ts). */
  keep?(t: HeldToken): boolean;
  renewMs?: number;
}

/**
 * DIRECT tokens are given back `renewMs` after their grant
 * (docs/direct-mode.md). A token used since its grant is renewed make
 * before break: the resource's token is asked for again while the old one
 * is still held (the coordinator sees it as a conversion: granted at once,
 * DIRECT again while the file is shared, a caching token once this host is
 * alone), then the old one goes once its uses in flight finished — new
 * operations use the new token meanwhile, so nothing waits. A token not
 * used since its grant just goes. Nothing is cached under a DIRECT token,
 * so this costs no flush; it is released at once (not lazily) so the
 * coordinator sees it gone. These acquires are how the coordinator learns
 * whether the resource is still shared: a host that stopped using the file
 * asks nothing. One timer per DIRECT token (one per resource and space).
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

  private async renew(t: HeldToken): Promise<void> {
    if (!t.alive) return;
    const used = t.usedSinceRenewal || (this.o.keep?.(t) ?? false);
    t.usedSinceRenewal = false;
    if (used) {
      try {
        await this.o.reacquire(t);
      } catch (e) {
        this.o.logger?.debug('renewing a DIRECT token failed; giving it back', { lockId: t.lockId, error: String(e) });
      }
    }
    await t.exclusive(async () => {
      if (!t.alive) return;
      t.block(t.range);
      try {
        await t.waitIdle(t.range);
        if (!t.alive) return;
        this.o.forget(t);
        this.o.retired(t);
        this.o.client.release(t.lockId).catch((e: unknown) => this.o.logger?.debug('giving back a DIRECT token failed', { lockId: t.lockId, error: String(e) }));
      } finally {
        t.unblock();
      }
    });
  }
}
