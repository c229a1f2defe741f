import type { TokenSpace } from './held-token';

const noop = (): void => undefined;

/**
 * What this agent's vops wait on, per resource and space: the one acquire
 * out for it (a vop that finds one waits for it, then looks again), and
 * revokes that block a token it needs. Whether any vop waits tells the
 * write's kernel-drop hold that a READ it waits on may be one of them
 * (kernel-copy-drop.ts).
 */
export class TokenWaits {
  private readonly acquires = new Map<string, Promise<void>>();
  private readonly unblocks = new Map<string, number>();

  static keyOf(resource: string, space: TokenSpace): string {
    return `${space}\u0000${resource}`;
  }

  /** The acquire out for `key`, settled (never rejected) when its grant is in or it failed. */
  acquireOut(key: string): Promise<void> | undefined {
    return this.acquires.get(key);
  }

  /** `fetch` is the acquire out for `key` until it settles. */
  acquiring<T>(key: string, fetch: Promise<T>): Promise<T> {
    const tracked = fetch.finally(() => this.acquires.delete(key));
    this.acquires.set(key, tracked.then(noop, noop));
    return tracked;
  }

  /** A vop waits (`wait`) for a blocked token of `key` to be unblocked. */
  unblocking<T>(key: string, wait: Promise<T>): Promise<T> {
    this.unblocks.set(key, (this.unblocks.get(key) ?? 0) + 1);
    return wait.finally(() => {
      const n = (this.unblocks.get(key) ?? 1) - 1;
      if (n > 0) this.unblocks.set(key, n);
      else this.unblocks.delete(key);
    });
  }

  /** A vop waits for a token of `key`: an acquire is out, or a revoke blocks the token. */
  waiting(key: string): boolean {
    return this.acquires.has(key) || this.unblocks.has(key);
  }
}
