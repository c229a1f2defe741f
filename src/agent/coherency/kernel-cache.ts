import { WHOLE_FILE } from '../../common/byte-range';
import type { Logger } from '../../common/logger';
import type { TokenCache } from './token-cache';

/**
 * What the FUSE layer does for the coherency layer (docs/fuse.md, "Kernel
 * cache"): drop what the kernel caches of a backing inode. Every call runs
 * on the session's notify thread and resolves once the kernel has dropped
 * it (or holds nothing to drop).
 */
export interface KernelInvalidator {
  /** The kernel's cached attributes of backing inode `ino` (notify_inval_inode, offset -1: no page lock taken). */
  attrs(ino: number): Promise<void>;
  /** Every inode's cached attributes (the session that allowed them is gone). */
  allAttrs(): Promise<void>;
}

/** The link between the token cache and the kernel cache of one mount. */
export interface KernelCacheLink {
  /** True while the kernel may cache the attributes of backing inode `ino` (attr READ/WRITE held, no revoke running, not DIRECT). */
  attrsCacheable(ino: number): boolean;
  /**
   * Milliseconds left before this host's lease deadline. A paused agent
   * cannot invalidate anything, so no timeout may outlive the deadline:
   * past it another host may be given the token.
   */
  leaseLeftMs(): number;
  /** The mount's invalidator (undefined once it is unmounted). */
  attach(invalidator: KernelInvalidator | undefined): void;
}

export interface KernelCacheOptions {
  /** Test-only planted bug: never invalidate (the e2e tests must then fail). */
  plantSkipInvalidation?: boolean;
  /** Milliseconds left before the lease deadline (default: unbounded, for tests of the token side only). */
  leaseLeftMs?: () => number;
}

/**
 * The kernel's attribute cache under attr tokens: the FUSE layer gives a
 * non-zero attribute timeout only while `attrsCacheable` holds, and the
 * revoke handler (and every other path that gives an attr token up) calls
 * `dropAttrs` before the token goes, so the kernel never serves
 * attributes this host no longer holds a token for.
 */
export class KernelCache implements KernelCacheLink {
  private invalidator: KernelInvalidator | undefined;
  private readonly prefix: string;

  constructor(
    private readonly tokens: TokenCache,
    namespace: string,
    private readonly logger: Logger,
    private readonly options: KernelCacheOptions = {},
  ) {
    this.prefix = `${namespace}/`;
  }

  attach(invalidator: KernelInvalidator | undefined): void {
    this.invalidator = invalidator;
  }

  leaseLeftMs(): number {
    return this.options.leaseLeftMs?.() ?? Number.POSITIVE_INFINITY;
  }

  attrsCacheable(ino: number): boolean {
    const resource = this.prefix + ino;
    // find() skips a token a revoke or a retirement has blocked: nothing new is cached while one runs.
    const t = this.tokens.find({ resource, space: 'attr', mode: 'READ', range: WHOLE_FILE });
    return t !== undefined && t.mode !== 'DIRECT' && !this.tokens.isDirect(resource, 'data');
  }

  /** Before an attr token of `resource` goes: the kernel drops the attributes cached under it. */
  async dropAttrs(resource: string): Promise<void> {
    const ino = this.inoOf(resource);
    if (this.invalidator === undefined || ino === undefined || this.options.plantSkipInvalidation) return;
    try {
      await this.invalidator.attrs(ino);
    } catch (e) {
      this.logger.error('kernel attribute invalidation failed', { resource, error: (e as Error).message });
    }
  }

  /** The session is lost: its tokens are void, so is everything the kernel cached under them. */
  dropAll(): void {
    if (this.invalidator === undefined || this.options.plantSkipInvalidation) return;
    this.invalidator.allAttrs().catch((e: Error) => this.logger.error('kernel attribute invalidation failed', { error: e.message }));
  }

  private inoOf(resource: string): number | undefined {
    if (!resource.startsWith(this.prefix)) return undefined;
    const rest = resource.slice(this.prefix.length);
    return /^\d+$/.test(rest) ? Number(rest) : undefined;
  }
}
