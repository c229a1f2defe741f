import { ByteRange, contains, WHOLE_FILE } from '../../common/byte-range';
import { InternalError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { RevokeAnswer, TokenClient } from '../client/types';
import { abortable, cancelled } from './abortable';
import { HeldToken, TokenMode, TokenRequest, TokenSpace, TokenUse, modeSatisfies } from './held-token';
import type { Clock } from '../../common/clock';
import { DirectRenewal } from './direct-renewal';
import { IdleTokens } from './idle-tokens';
import { GrantIntake } from './grant-intake';
import type { TokenCacheListener } from './token-cache-listener';
import { TokenTable } from './token-table';
import { TokenWaits } from './token-waits';

export type { TokenCacheListener } from './token-cache-listener';

export interface TokenCacheOptions {
  client: TokenClient;
  logger?: Logger;
  /** Idle tokens beyond this count are given back (releaseLazily), oldest first. Default 10,000. */
  maxTokens?: number;
  /** Times the renewal of DIRECT tokens (direct-renewal.ts); without it DIRECT tokens are kept like others. */
  clock?: Clock;
  /** How long a DIRECT token is kept before it is given back and asked for again. Default 1000. */
  directRenewMs?: number;
}

const noop = (): undefined => undefined;
const endUse = (use: TokenUse | undefined): void => use?.done();

/**
 * The tokens this agent holds (TokenTable) and the vops using them. A hit
 * costs no network and allocates only the TokenUse. A miss acquires through
 * the client, one request at a time per resource and space: concurrent vops
 * wait for it and look again, so identical requests go out once.
 *
 * A READ token is never converted to WRITE: the WRITE token is a new lock
 * beside it (Lustre's cancel-and-enqueue, without the cancel). A
 * conversion would reshape the lock to the range asked the moment the
 * coordinator grants it, while this host still believes the old shape
 * until the grant arrives; two locks never take a right away unasked. The
 * request lies within this host's READ lock, so the coordinator treats it
 * as a conversion for queueing (it goes ahead of waiters); the READ lock is
 * revoked or retired like any other. Idle tokens wait in an LRU and the oldest
 * are given back over `maxTokens` or on request.
 */
export class TokenCache {
  private readonly client: TokenClient;
  private readonly logger?: Logger;
  private readonly table = new TokenTable();
  private readonly waits = new TokenWaits();
  private readonly idle: IdleTokens;
  private readonly renewal?: DirectRenewal;
  private readonly grants: GrantIntake;
  private listener?: TokenCacheListener;
  private generation = 0;

  constructor(options: TokenCacheOptions) {
    const maxTokens = options.maxTokens ?? 10_000;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError('maxTokens must be a positive integer');
    this.client = options.client;
    this.logger = options.logger;
    this.client.setLockListener({
      reduced: (grant) => {
        const t = this.table.byId(grant.lockId);
        // The belief already shrank before the answer left: only the version moves.
        if (t !== undefined && grant.version > t.version) t.version = grant.version;
      },
      lost: (lockId, reason) => {
        const t = this.table.byId(lockId);
        if (t === undefined) return;
        this.remove(t);
        t.unblock();
        this.listener?.lost(t, reason);
      },
    });
    if (options.clock) {
      this.renewal = new DirectRenewal({
        clock: options.clock, client: this.client, logger: this.logger, renewMs: options.directRenewMs,
        forget: (t) => this.remove(t),
        reacquire: (t) => this.fetch({ resource: t.resource, space: t.space, mode: 'READ', range: WHOLE_FILE }).then((use) => {
          use?.done();
          if (use) use.token.usedSinceRenewal = false; // claimed by the renewal, not by an operation
        }),
        retired: (t) => this.listener?.directRetired?.(t),
        keep: (t) => this.listener?.keepsDirect?.(t) ?? false,
      });
    }
    this.idle = new IdleTokens({
      client: this.client,
      logger: this.logger,
      maxTokens,
      heldCount: () => this.table.size,
      retiring: (t) => this.listener?.retiring(t),
      beforeBlock: async (t) => this.listener?.beforeRetiring?.(t),
      forget: (t) => this.remove(t),
    });
    this.grants = new GrantIntake({
      table: this.table, idle: this.idle, renewal: this.renewal, client: this.client,
      listener: () => this.listener, remove: (t) => this.remove(t),
    });
  }

  get size(): number {
    return this.table.size;
  }

  get idleCount(): number {
    return this.idle.size;
  }

  setListener(listener: TokenCacheListener): void {
    this.listener = listener;
  }

  /** A held token covering the request with a sufficient mode; no network. */
  find(req: TokenRequest, includeBlocked = false): HeldToken | undefined {
    return this.table.find(req, includeBlocked);
  }

  byId(lockId: number): HeldToken | undefined {
    return this.table.byId(lockId);
  }

  tokensOf(resource: string, space: TokenSpace): readonly HeldToken[] {
    return this.table.tokensOf(resource, space);
  }

  /** The latest grant for the resource asked for uncached (write-through) mode. */
  isUncached(resource: string): boolean {
    return this.table.isUncached(resource);
  }

  /** Claims a held token for an in-flight vop, or undefined if none is usable now. */
  tryUse(req: TokenRequest): TokenUse | undefined {
    const t = this.table.find(req);
    return t === undefined ? undefined : this.addUse(t, req.range);
  }

  /** Claims a token, acquiring or upgrading it through the client on a miss. */
  async use(req: TokenRequest, signal?: AbortSignal): Promise<TokenUse> {
    for (;;) {
      const use = this.tryUse(req) ?? (await this.obtain(req, signal));
      if (use) return use;
    }
  }

  /**
   * Claims all tokens at once. While any is missing, the vop holds none of
   * the others (it waits for the missing ones empty-handed), so two hosts
   * that each hold one token and want the other's cannot deadlock through
   * revokes that wait for their in-flight vops. The missing ones are asked
   * for together (one round trip, not one per token); each is left idle as
   * it arrives, and all are claimed in one tick once the last is in.
   */
  async useAll(reqs: readonly TokenRequest[], signal?: AbortSignal): Promise<TokenUse[]> {
    for (;;) {
      const uses = this.tryUseAll(reqs);
      if (uses) return uses;
      const missing = reqs.filter((r) => this.table.find(r) === undefined);
      await Promise.all(missing.map((r) => this.obtain(r, signal).then(endUse)));
    }
  }

  /** Claims all tokens if every one is usable now (no network, no await); undefined, holding none, otherwise. */
  tryUseAll(reqs: readonly TokenRequest[]): TokenUse[] | undefined {
    const uses: TokenUse[] = [];
    for (const r of reqs) {
      const use = this.tryUse(r);
      if (!use) {
        for (const u of uses) u.done();
        return undefined;
      }
      uses.push(use);
    }
    return uses;
  }

  /**
   * Asks for tokens a vop is about to need (e.g. a new file's, right after
   * its create) without waiting: vops that need them wait for the request
   * in flight instead of sending their own one after another. Grants go to
   * the idle LRU; failures only mean the vop asks again itself.
   */
  prefetch(reqs: readonly TokenRequest[]): void {
    for (const r of reqs) {
      if (this.table.find(r, true)) continue;
      this.obtain(r).then(endUse, (e: unknown) => this.logger?.debug('token prefetch failed', { resource: r.resource, space: r.space, error: e }));
    }
  }

  /** Marks a lock id the coordinator revoked before this cache knew it; a late grant for it is ignored. */
  noteOrphanRevoke(lockId: number): void {
    this.grants.noteOrphanRevoke(lockId);
  }

  /** Applies a revoke answer: drop the token, or shrink/downgrade it in place. */
  apply(token: HeldToken, answer: RevokeAnswer): void {
    if (answer.released) this.remove(token);
    else this.table.reshape(token, answer.mode as TokenMode, answer.range);
  }

  /** Returns up to maxCount idle tokens, least recently used first (flushing what is cached under them). */
  releaseIdle(maxCount = Infinity): Promise<number> {
    return this.idle.releaseOldest(maxCount);
  }

  /** Forgets every token without telling the coordinator: the session that held them is gone. */
  dropAll(): void {
    this.generation++;
    this.idle.clear();
    this.renewal?.clear();
    for (const t of this.table.clear()) t.unblock();
  }

  private addUse(t: HeldToken, range: ByteRange): TokenUse {
    if (t.inUse === 0) this.idle.remove(t);
    t.usedSinceRenewal = true;
    const use = new TokenUse(t, range, this.endUse);
    t.addUse(use);
    return use;
  }

  private readonly endUse = (use: TokenUse): void => {
    const t = use.token;
    t.removeUse(use);
    if (t.inUse === 0 && t.alive) {
      this.idle.push(t);
      this.idle.maybeTrim();
    }
  };

  /**
   * Waits for what blocks the request: a revoke of a covering token, or
   * another vop's acquire for the same resource and space (then the caller
   * looks again). Otherwise acquires or converts, and returns the use it
   * claimed in the same tick as the grant arrived, so the token cannot be
   * retired as idle before its requester had it.
   */
  private obtain(req: TokenRequest, signal?: AbortSignal): Promise<TokenUse | undefined> {
    if (signal?.aborted) return Promise.reject(cancelled());
    const key = TokenWaits.keyOf(req.resource, req.space);
    const blocked = this.table.find(req, true);
    if (blocked) return this.waits.unblocking(key, abortable(blocked.whenUnblocked(), signal)).then(noop);
    const inFlight = this.waits.acquireOut(key);
    if (inFlight) return abortable(inFlight, signal).then(noop);
    const fetch = this.waits.acquiring(key, this.fetch(req));
    if (!signal) return fetch;
    return abortable(fetch, signal).catch((e) => {
      fetch.then((use) => use?.done(), noop); // a grant after the abort goes to the idle LRU
      throw e;
    });
  }

  private async fetch(req: TokenRequest): Promise<TokenUse | undefined> {
    const generation = this.generation;
    const range = req.space === 'data' ? req.range : undefined;
    const noDirect = req.space !== 'dir' && this.listener?.kernelCaches?.(req.resource) === true;
    const grant = await this.client.acquire({ resource: req.resource, space: req.space, mode: req.mode, range, noDirect });
    if (!contains(grant.range, req.range) || !modeSatisfies(grant.mode as TokenMode, req.mode)) {
      throw new InternalError('INTERNAL', 'grant does not cover the request', { resource: req.resource, lockId: grant.lockId });
    }
    if (generation !== this.generation) return undefined;
    // The kernel began caching the file (an open) while this acquire was in flight: a DIRECT grant goes back and the caller asks again, with noDirect.
    if (grant.mode === 'DIRECT' && !noDirect && this.listener?.kernelCaches?.(req.resource) === true && this.table.byId(grant.lockId) === undefined) {
      this.client.releaseLazily(grant.lockId);
      return undefined;
    }
    const t = this.grants.insert(grant);
    return t && this.claim(t, req);
  }

  /** A use of t for req, if t serves it now. */
  private claim(t: HeldToken, req: TokenRequest): TokenUse | undefined {
    if (!t.alive || t.isBlockedFor(req.range) || !contains(t.range, req.range) || !modeSatisfies(t.mode, req.mode)) return undefined;
    return this.addUse(t, req.range);
  }

  private remove(t: HeldToken): void {
    if (!this.table.remove(t)) return;
    this.idle.remove(t);
    if (t.mode === 'DIRECT') this.renewal?.cancel(t);
  }

  /** DIRECT tokens held (metrics). */
  directCount(): number {
    let n = 0;
    for (const t of this.table.all()) if (t.mode === 'DIRECT') n++;
    return n;
  }

  /** True while a vop of this agent waits for a token of the resource in that space: an acquire is out, or a revoke blocks the token. */
  waiting(resource: string, space: TokenSpace): boolean {
    return this.waits.waiting(TokenWaits.keyOf(resource, space));
  }

  /** True while this agent holds a DIRECT token of the resource in that space. */
  isDirect(resource: string, space: TokenSpace): boolean {
    return this.table.tokensOf(resource, space).some((t) => t.mode === 'DIRECT');
  }
}
