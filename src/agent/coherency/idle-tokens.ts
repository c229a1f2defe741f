import type { Logger } from '../../common/logger';
import type { TokenClient } from '../client/types';
import type { HeldToken } from './held-token';
import { IntrusiveLru } from './intrusive-lru';

export interface IdleTokensOptions {
  client: TokenClient;
  logger?: Logger;
  /** Held tokens beyond this count make the oldest idle ones go. */
  maxTokens: number;
  /** How many tokens the agent holds in all. */
  heldCount(): number;
  /** Flushes and drops what is cached under the token, before it goes. */
  retiring(t: HeldToken): Promise<void> | undefined;
  /** Before the token is blocked: what must go while it still serves (the kernel's pages: kernel-pages.ts). */
  beforeBlock?(t: HeldToken): Promise<void>;
  /** Forgets the token in the cache. */
  forget(t: HeldToken): void;
}

/**
 * Tokens no in-flight vop uses, least recently used first (DESIGN §3.5):
 * over `maxTokens`, or when asked, the oldest are flushed and given back
 * with releaseLazily (the release rides on the next outgoing message).
 */
export class IdleTokens {
  private readonly lru = new IntrusiveLru<HeldToken>();
  private trimming = false;

  constructor(private readonly o: IdleTokensOptions) {}

  get size(): number {
    return this.lru.size;
  }

  /** The token just became idle (most recently used). */
  push(t: HeldToken): void {
    this.lru.push(t);
  }

  /** The token is in use again, or gone. */
  remove(t: HeldToken): void {
    this.lru.remove(t);
  }

  clear(): void {
    this.lru.clear();
  }

  /** Starts giving back the oldest idle tokens while the agent holds more than maxTokens. */
  maybeTrim(): void {
    const excess = this.o.heldCount() - this.o.maxTokens;
    if (this.trimming || excess <= 0 || this.lru.size === 0) return;
    this.trimming = true;
    this.releaseOldest(excess)
      .catch((e) => this.o.logger?.warn('returning idle tokens failed', { error: String(e) }))
      .finally(() => {
        this.trimming = false;
      });
  }

  /** Gives back up to maxCount idle tokens, oldest first; resolves with how many went. */
  async releaseOldest(maxCount: number): Promise<number> {
    let released = 0;
    while (released < maxCount) {
      const t = this.lru.oldest();
      if (!t) break;
      this.lru.remove(t);
      if (await this.retire(t)) released++;
    }
    return released;
  }

  /** Flushes and drops caches under an idle token, then gives it back lazily. */
  private retire(t: HeldToken): Promise<boolean> {
    return t.exclusive(async () => {
      if (!t.alive || t.inUse > 0) return false;
      await this.o.beforeBlock?.(t);
      if (!t.alive || t.inUse > 0) return false; // used during the passes: back in the LRU once that use ends
      t.block(t.range);
      try {
        await this.o.retiring(t);
        this.o.forget(t);
        this.o.client.releaseLazily(t.lockId);
        return true;
      } catch (e) {
        this.o.logger?.warn('could not flush an idle token, keeping it', { resource: t.resource, lockId: t.lockId, error: String(e) });
        if (t.alive && t.inUse === 0) this.lru.push(t);
        return false;
      } finally {
        t.unblock();
      }
    });
  }
}
