import { WHOLE_FILE } from '../../common/byte-range';
import type { Logger } from '../../common/logger';
import { KernelPages } from './kernel-pages';
import { holdWholeFileWrite } from './mapping-write-token';
import type { ReadTicket } from './local-writes';
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
  /** Every name the kernel caches (FUSE_NOTIFY_INC_EPOCH: synchronous, no lock taken). */
  entries(): void;
  /** The pages the kernel caches of backing inode `ino` in [offset, offset + length), length 0: to the end (notify_inval_inode: waits for page locks). */
  pages(ino: number, offset: number, length: number): Promise<void>;
}

/** The link between the token cache and the kernel cache of one mount. */
export interface KernelCacheLink {
  /** True while the kernel may cache the attributes of backing inode `ino` (attr READ/WRITE held, no revoke running, not DIRECT). */
  attrsCacheable(ino: number): boolean;
  /**
   * The dir token under which the kernel may keep the names in directory
   * `ino`, and its size, times and link count (dir READ or WRITE, no revoke
   * running): another host changes them only under dir WRITE, which revokes
   * this host's token first. Taken before a lookup; if it still holds when
   * the reply is made, nobody changed the directory in between.
   */
  entriesHold(ino: number): EntriesHold | undefined;
  /** A lookup in directory `ino` found no dir token: ask for dir READ in the background (not soon after losing one). */
  wantEntries(ino: number): void;
  /**
   * Milliseconds left before this host's lease deadline. A paused agent
   * cannot invalidate anything, so no timeout may outlive the deadline:
   * past it another host may be given the token.
   */
  leaseLeftMs(): number;
  /** The mount's invalidator (undefined once it is unmounted). */
  attach(invalidator: KernelInvalidator | undefined): void;
  /** The mount is going away: nothing new is kept, everything the kernel cached goes (before the tokens do). */
  close(): Promise<void>;
  /**
   * An O_RDONLY (or, `writable`, O_RDWR) open of regular file `ino` is
   * being answered: undefined when it must be direct_io (DIRECT or
   * uncached now, or no mount), else whether the kernel may keep the pages
   * it has (kernel-pages.ts).
   */
  openCached(ino: number, writable?: boolean): { keepCache: boolean } | undefined;
  /**
   * Before a cached O_RDWR open of `ino` is answered: this host holds data
   * WRITE over the whole file (asked for if need be), so the kernel's pages
   * lie under it before a shared writable mapping can dirty one. False:
   * not held (DIRECT, refused), the open must be direct_io.
   */
  holdForMapping(ino: number, signal: AbortSignal): Promise<boolean>;
  /** A cached open of `ino` was released. */
  releasedCached(ino: number, writable?: boolean): void;
  /** A READ of `ino` reached the agent (counted before it is served: see KernelPages.beforeGiveUp). */
  readStarting(ino: number): ReadTicket | undefined;
  /** A cached open of `ino` is read-write (a shared mapping may hold dirty pages). */
  mapsWritable(ino: number): boolean;
  /** A WRITE through a cached read-write handle of `ino` arrived (its bytes are in the kernel's pages already). */
  pagesWritten(ino: number): void;
  /** That READ's reply was sent. */
  readAnswered(ino: number, ticket: ReadTicket | undefined): void;
  /**
   * A WRITE of `ino` reached the agent; `written` once it is done, awaited
   * before its reply. `beforeDrop` runs before the write's page drop, if
   * one is made (KernelPages.written).
   */
  writeStarting(ino: number): void;
  written(ino: number, offset: number, length: number, beforeDrop?: () => Promise<void>): Promise<void>;
}

/** See KernelCacheLink.entriesHold. */
export interface EntriesHold {
  /** The same token is still held and no revoke of it runs. */
  holds(): boolean;
}

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
    this.pages.writeStarting(this.prefix + ino);
  }

  written(ino: number, offset: number, length: number, beforeDrop?: () => Promise<void>): Promise<void> {
    return this.pages.written(this.prefix + ino, offset, length, beforeDrop);
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
