import { WHOLE_FILE } from '../../common/byte-range';
import type { Logger } from '../../common/logger';
import { KernelPages } from './kernel-pages';
import { holdWholeFileWrite } from './mapping-write-token';
import type { ReadTicket } from './local-writes';
import type { EntriesHold, KernelCacheLink, KernelInvalidator } from './kernel-cache-link';
import type { TokenCache } from './token-cache';

export type { EntriesHold, KernelCacheLink, KernelInvalidator } from './kernel-cache-link';

export interface KernelCacheOptions {
  /** Test-only planted bug: never invalidate (the e2e tests must then fail). */
  plantSkipInvalidation?: boolean;
  /** Milliseconds left before the lease deadline (default: unbounded, for tests of the token side only). */
  leaseLeftMs?: () => number;
  /** For the dir READ backoff (default: Date.now). */
  nowMs?: () => number;
  /** Waits on the agent's clock: a revoke's page passes let READs in flight settle first (default: not at all). */
  sleep?: (ms: number) => Promise<void>;
}

/** A reply's timeout stops this long before the lease deadline (the kernel may install the reply late). */
const LEASE_MARGIN_MS = 100;

/**
 * The timeout (ms) a reply may give the kernel: at most `maxMs`, never past
 * the lease deadline less LEASE_MARGIN_MS; 0 when nothing may be kept.
 */
export function leaseBoundedMs(link: Pick<KernelCacheLink, 'leaseLeftMs'>, maxMs: number): number {
  return Math.max(0, Math.min(maxMs, link.leaseLeftMs() - LEASE_MARGIN_MS));
}

/** A directory whose dir token this host gave up is not asked for again in the background for this long. */
export const DIR_PREFETCH_BACKOFF_MS = 2000;

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
  /** Directory resource → when this host last gave its dir token up (the backoff of wantEntries). */
  private readonly dirLostAt = new Map<string, number>();
  /** The kernel's page cache under data tokens. */
  readonly pages: KernelPages;
  /** Set by close(): the mount is going away, the kernel may keep nothing new. */
  private closing = false;

  constructor(
    private readonly tokens: TokenCache,
    namespace: string,
    private readonly logger: Logger,
    private readonly options: KernelCacheOptions = {},
  ) {
    this.prefix = `${namespace}/`;
    this.pages = new KernelPages(logger, options.plantSkipInvalidation, () => this.nowMs(), options.sleep);
  }

  attach(invalidator: KernelInvalidator | undefined): void {
    this.invalidator = invalidator;
    this.pages.attach(invalidator && ((ino, offset, length) => invalidator.pages(ino, offset, length)));
  }

  openCached(ino: number, writable = false): { keepCache: boolean } | undefined {
    if (this.closing) return undefined;
    const resource = this.prefix + ino;
    // A file that is (or was lately) contended is direct_io: a cached open would meet DIRECT (kernel-pages.ts).
    const direct = this.tokens.isDirect(resource, 'data') || this.tokens.isDirect(resource, 'attr') || !this.pages.mayCache(resource);
    if (!this.pages.supported || direct || this.tokens.isUncached(resource)) return undefined;
    return { keepCache: this.pages.opened(resource, ino, writable) };
  }

  holdForMapping(ino: number, signal: AbortSignal): Promise<boolean> {
    return holdWholeFileWrite(this.tokens, this.prefix + ino, signal, this.logger);
  }

  releasedCached(ino: number, writable = false): void {
    this.pages.released(this.prefix + ino, writable);
  }

  readStarting(ino: number): ReadTicket | undefined {
    return this.pages.readStarting(this.prefix + ino);
  }

  mapsWritable(ino: number): boolean {
    return this.pages.mapsWritable(this.prefix + ino);
  }

  pagesWritten(ino: number): void {
    this.pages.pagesWritten(this.prefix + ino);
  }

  readAnswered(ino: number, ticket: ReadTicket | undefined): void {
    const resource = this.prefix + ino;
    this.pages.readAnswered(resource, ticket, this.tokens.isDirect(resource, 'data'));
  }

  writeStarting(ino: number): void {
    this.pages.local.starting(this.prefix + ino);
  }

  written(ino: number, offset: number, length: number, beforeDrop?: () => Promise<void>): Promise<void> {
    return this.pages.local.written(this.prefix + ino, offset, length, beforeDrop);
  }

  truncated(ino: number, size: number): Promise<void> {
    return this.pages.local.truncated(this.prefix + ino, size);
  }

  leaseLeftMs(): number {
    return this.options.leaseLeftMs?.() ?? Number.POSITIVE_INFINITY;
  }

  attrsCacheable(ino: number): boolean {
    if (this.closing) return false;
    const resource = this.prefix + ino;
    // find() skips a token a revoke or a retirement has blocked: nothing new is cached while one runs.
    const t = this.tokens.find({ resource, space: 'attr', mode: 'READ', range: WHOLE_FILE });
    return t !== undefined && t.mode !== 'DIRECT' && !this.tokens.isDirect(resource, 'data') && !this.pages.hasStray(resource);
  }

  entriesHold(ino: number): EntriesHold | undefined {
    if (this.closing) return undefined;
    const t = this.tokens.find({ resource: this.prefix + ino, space: 'dir', mode: 'READ', range: WHOLE_FILE });
    return t && { holds: () => t.alive && !t.isBlockedFor(WHOLE_FILE) };
  }

  attrHold(ino: number): EntriesHold | undefined {
    if (this.closing) return undefined;
    const t = this.tokens.find({ resource: this.prefix + ino, space: 'attr', mode: 'READ', range: WHOLE_FILE });
    return t && t.mode !== 'DIRECT' ? { holds: () => t.alive && !t.isBlockedFor(WHOLE_FILE) } : undefined;
  }

  wantEntries(ino: number): void {
    const resource = this.prefix + ino;
    const lost = this.dirLostAt.get(resource);
    const now = this.nowMs();
    if (lost !== undefined && now - lost < DIR_PREFETCH_BACKOFF_MS) return;
    if (lost !== undefined) this.dirLostAt.delete(resource);
    this.tokens.prefetch([{ resource, space: 'dir', mode: 'READ', range: WHOLE_FILE }]);
  }

  /**
   * Before a dir token of `resource` goes (released, not downgraded to
   * READ): the kernel drops every name it caches (the epoch: no lock, so
   * no request this host still has to answer can hold it up) and the
   * directory's attributes.
   */
  async dropDir(resource: string): Promise<void> {
    this.noteDirLost(resource);
    const ino = this.inoOf(resource);
    if (this.invalidator === undefined || ino === undefined || this.options.plantSkipInvalidation) return;
    try {
      this.invalidator.entries();
      await this.invalidator.attrs(ino);
    } catch (e) {
      this.logger.error('kernel name invalidation failed', { resource, error: (e as Error).message });
    }
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

  /**
   * The mount is going away (the agent stops or restarts): descriptors
   * and mappings outlive a lazy unmount, and once the agent is gone the
   * kernel serves what it cached without asking anyone, while the tokens
   * it was cached under go back with the session. From now on nothing new
   * is kept (no timeouts, no cached opens, READs drop their pages after
   * the reply) and everything cached goes: names, attributes, pages.
   * Found by chaos (clock-skew restarts agent-1 gracefully: its held
   * reader read the old value through the old mount for 400 ms after
   * agent-0's write).
   */
  async close(): Promise<void> {
    this.closing = true;
    if (this.invalidator === undefined || this.options.plantSkipInvalidation) return;
    try {
      this.invalidator.entries();
      await Promise.all([this.invalidator.allAttrs(), this.pages.closing()]);
    } catch (e) {
      this.logger.error('kernel cache invalidation at unmount failed', { error: (e as Error).message });
    }
  }

  /** The session is lost: its tokens are void, so is everything the kernel cached under them. */
  dropAll(): void {
    this.dirLostAt.clear();
    this.pages.lostAll();
    if (this.invalidator === undefined || this.options.plantSkipInvalidation) return;
    this.invalidator.entries();
    this.invalidator.allAttrs().catch((e: Error) => this.logger.error('kernel attribute invalidation failed', { error: e.message }));
  }

  private noteDirLost(resource: string): void {
    if (this.dirLostAt.size >= 4096) this.dirLostAt.clear(); // a backoff, not a record: forgetting it only asks sooner
    this.dirLostAt.set(resource, this.nowMs());
  }

  private nowMs(): number {
    return this.options.nowMs?.() ?? Date.now();
  }

  private inoOf(resource: string): number | undefined {
    if (!resource.startsWith(this.prefix)) return undefined;
    const rest = resource.slice(this.prefix.length);
    return /^\d+$/.test(rest) ? Number(rest) : undefined;
  }
}
