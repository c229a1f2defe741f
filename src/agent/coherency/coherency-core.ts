import { sleepOn, type Clock } from '../../common/clock';
import type { Logger } from '../../common/logger';
import type { TokenClient } from '../client/types';
import { AttrCache } from './attr-cache';
import type { CoherencyBacking } from './coherency-backing';
import type { FileRef } from './page';
import { PageCache } from './page-cache';
import { DirectIo } from './direct-io';
import { KernelCache } from './kernel-cache';
import { createRevokeHandler, dropUncovered, giveUp, ProtectedCaches } from './revoke-handler';
import { TokenCache } from './token-cache';
import { WriteBack } from './write-back';

/** Tunables of the coherency layer; every field has a default. */
export interface CoherencyOptions {
  /** Idle tokens kept before the oldest are given back. Default 10,000. */
  maxTokens?: number;
  /** Page cache memory (clean + dirty). Default 64 MiB. */
  pageCacheBytes?: number;
  /** Dirty memory above which writers wait for flushes. Default 32 MiB. */
  maxDirtyBytes?: number;
  /** Longest a dirty byte waits before its flush starts. Default 1000 ms. */
  flushDelayMs?: number;
  /** Largest coalesced pwrite. Default 4 MiB. */
  maxWriteBytes?: number;
  /** DIRECT tokens are given back and asked for again after this long (docs/direct-mode.md). Default 1000. */
  directRenewMs?: number;
  /** Test-only planted bug: never invalidate the kernel's cache (e2e tests show they then fail). */
  plantSkipKernelInvalidation?: boolean;
}

export interface CoherencyCoreDeps {
  client: TokenClient;
  /** The shared filesystem's configured name: resources are `<namespace>/<ino>`. */
  namespace: string;
  clock: Clock;
  /** Wall-clock milliseconds, for the file times this host's own changes give (default Date.now). */
  wallClockMs?: () => number;
  logger: Logger;
  backing: CoherencyBacking;
  options?: CoherencyOptions;
}

/**
 * The agent's coherency state: token cache, page cache, write-back and
 * attribute cache, wired to the client's revokes and session events. When
 * the session is lost every cache and token goes at once (DESIGN §5):
 * dirty data that could not be flushed becomes a per-file error.
 */
export class CoherencyCore implements ProtectedCaches {
  readonly client: TokenClient;
  readonly namespace: string;
  readonly clock: Clock;
  readonly wallClockMs: () => number;
  readonly logger: Logger;
  readonly backing: CoherencyBacking;
  readonly tokens: TokenCache;
  readonly pages: PageCache;
  readonly writeBack: WriteBack;
  readonly attrs = new AttrCache();
  readonly direct: DirectIo;
  /** The kernel's cache of this mount under the tokens (kernel-cache.ts). */
  readonly kernel: KernelCache;

  constructor(deps: CoherencyCoreDeps) {
    const o = deps.options ?? {};
    this.client = deps.client;
    this.namespace = deps.namespace;
    this.clock = deps.clock;
    this.wallClockMs = deps.wallClockMs ?? (() => Date.now());
    this.logger = deps.logger.child({ component: 'coherency' });
    this.backing = deps.backing;
    this.tokens = new TokenCache({ client: this.client, logger: this.logger, maxTokens: o.maxTokens, clock: this.clock, directRenewMs: o.directRenewMs });
    this.pages = new PageCache({ maxBytes: o.pageCacheBytes });
    this.direct = new DirectIo(this);
    this.kernel = new KernelCache(this.tokens, this.namespace, this.logger, {
      plantSkipInvalidation: o.plantSkipKernelInvalidation,
      leaseLeftMs: () => this.client.leaseDeadlineMs() - this.clock.nowMs(),
      nowMs: () => this.clock.nowMs(),
      sleep: (ms) => sleepOn(this.clock, ms),
    });
    this.writeBack = new WriteBack({
      pages: this.pages,
      clock: this.clock,
      logger: this.logger,
      flushFn: (file, offset, data) => this.backing.write(file, offset, data),
      ...(this.backing.datasync ? { syncFn: (file: FileRef) => this.backing.datasync!(file) } : {}),
      deadlineMs: () => this.client.leaseDeadlineMs(),
      isFenced: () => this.client.isFenced(),
      maxDirtyBytes: o.maxDirtyBytes,
      flushDelayMs: o.flushDelayMs,
      maxWriteBytes: o.maxWriteBytes,
    });
    this.tokens.setListener({
      retiring: (token) => giveUp(this, token, { released: true }),
      beforeRetiring: (token) => this.kernel.pages.beforeGiveUp(token),
      coverageLost: (token, range) => {
        this.kernel.pages.shrunk(token);
        dropUncovered(this, token, range);
      },
      keepsDirect: (token) => token.space === 'data' && this.kernel.pages.keepsDirect(token.resource),
      kernelCaches: (resource) => this.kernel.pages.wholeFileReads(resource),
      directRetired: (token) => {
        // Direct writes under the old token may have landed after a caching token beside it filled pages.
        this.attrs.drop(token.resource);
        this.pages.dropClean(token.resource);
      },
      lost: (token, reason) => {
        this.logger.error('token lost without a revoke; dropping what it covered', { lockId: token.lockId, resource: token.resource, space: token.space, reason });
        if (token.space !== 'dir') this.writeBack.abandonFile(token.resource, reason);
        this.attrs.drop(token.resource);
        if (token.space === 'attr') void this.kernel.dropAttrs(token.resource);
        if (token.space === 'dir') void this.kernel.dropDir(token.resource);
        if (token.space === 'data') this.kernel.pages.lost(token.resource);
      },
    });
    this.client.setRevokeHandler(createRevokeHandler(this));
    this.client.on('fenced', (reason) => this.sessionLost(reason));
    this.client.on('session', () => this.sessionLost('replaced by a new session'));
  }

  resourceOf(ino: number): string {
    return `${this.namespace}/${ino}`;
  }

  /** Flushes everything dirty (unmount, shutdown). */
  flushAll(): Promise<void> {
    return this.writeBack.flushAll();
  }

  /** The tokens of a lost session are void: forget them, their caches and unflushable dirty data. */
  private sessionLost(reason: string): void {
    this.logger.warn('session lost: dropping tokens and caches', { reason, tokens: this.tokens.size, dirtyBytes: this.pages.dirtyBytes });
    this.writeBack.abandonAll(reason);
    this.tokens.dropAll();
    this.attrs.clear();
    this.kernel.dropAll();
  }
}
