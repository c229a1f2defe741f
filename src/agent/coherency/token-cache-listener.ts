import type { ByteRange } from '../../common/byte-range';
import type { HeldToken } from './held-token';

/** What the coherency layer does when the cache gives tokens up on its own. */
export interface TokenCacheListener {
  /** Before an idle token is returned: flush dirty data and drop everything cached under it. */
  retiring(token: HeldToken): Promise<void>;
  /** Before an idle token is blocked for its retirement (it still serves meanwhile). */
  beforeRetiring?(token: HeldToken): Promise<void>;
  /** A convert left a token smaller: drop clean caches in `range` (a READ token covers nothing dirty). */
  coverageLost(token: HeldToken, range: ByteRange): void;
  /** The coordinator no longer has the token (a refused reclaim): what was cached and dirty under it is lost. */
  lost(token: HeldToken, reason: string): void;
  /** A renewed DIRECT token is gone after its last use: drop what a caching token beside it may have cached meanwhile. */
  directRetired?(token: HeldToken): void;
  /** A DIRECT token not used since its grant is renewed anyway while this says so (the kernel's pages depend on it). */
  keepsDirect?(token: HeldToken): boolean;
  /**
   * True while this host's kernel caches the resource's pages through an
   * open (kernel-pages.ts): its data and attr tokens are then asked for
   * with noDirect, as only a revoke can drop those pages and mappings.
   */
  kernelCaches?(resource: string): boolean;
}
