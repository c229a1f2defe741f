import { ByteRange, contains } from '../../common/byte-range';
import { CancelledError, InternalError, isCoherdError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { ClientGrant, RevokeAnswer, TokenClient } from '../client/types';
import { HeldToken, TokenRequest, TokenSpace, TokenUse, modeSatisfies } from './held-token';
import { TokenLru } from './token-lru';

export interface TokenCacheOptions {
  client: TokenClient;
  logger?: Logger;
  /** Idle tokens beyond this count are given back (releaseLazily), oldest first. Default 10,000. */
  maxTokens?: number;
}

/** What the coherency layer does when the cache gives tokens up on its own. */
export interface TokenCacheListener {
  /** Before an idle token is returned: flush dirty data and drop everything cached under it. */
  retiring(token: HeldToken): Promise<void>;
  /** A convert left a token smaller: drop clean caches in `range` (a READ token covers nothing dirty). */
  coverageLost(token: HeldToken, range: ByteRange): void;
}

interface ResourceTokens {
  data: HeldToken[];
  attr: HeldToken[];
  dir: HeldToken[];
  /** The latest grant for this resource said "uncached" (DESIGN §3.4). */
  uncached: boolean;
}

/** Convert failures after which a fresh acquire is the way forward. */
const CONVERT_FALLBACK = new Set(['LOCK_NOT_FOUND', 'LOCK_CONFLICT', 'DEADLOCK']);
const MAX_ORPHANS = 1024;

/**
 * The tokens this agent holds, per resource and space. A lookup of a held
 * token is a Map get plus a scan of a short array sorted by start: no
 * network, no allocation beyond the TokenUse. Misses acquire through the
 * client, one request at a time per resource and space (concurrent vops
 * wait for it and look again, so identical requests go out once).
 */
export class TokenCache {
  private readonly client: TokenClient;
  private readonly logger?: Logger;
  private readonly maxTokens: number;
  private readonly resources = new Map<string, ResourceTokens>();
  private readonly byLockId = new Map<number, HeldToken>();
  private readonly pending = new Map<string, Promise<void>>();
  private readonly lru = new TokenLru();
  /** Revokes that arrived for lock ids not (yet) known: such grants are never used. */
  private readonly orphans = new Set<number>();
  private listener?: TokenCacheListener;
  private generation = 0;
  private trimming = false;

  constructor(options: TokenCacheOptions) {
    const maxTokens = options.maxTokens ?? 10_000;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError('maxTokens must be a positive integer');
    this.client = options.client;
    this.logger = options.logger;
    this.maxTokens = maxTokens;
  }

  get size(): number {
    return this.byLockId.size;
  }

  get idleCount(): number {
    return this.lru.size;
  }

  setListener(listener: TokenCacheListener): void {
    this.listener = listener;
  }

  /** A held token covering the request with a sufficient mode; no network. */
  find(req: TokenRequest, includeBlocked = false): HeldToken | undefined {
    const entry = this.resources.get(req.resource);
    if (entry === undefined) return undefined;
    const list = entry[req.space];
    const { start, end } = req.range;
    for (let i = firstAfter(list, start) - 1; i >= 0; i--) {
      const t = list[i];
      if (t.range.end >= end && modeSatisfies(t.mode, req.mode) && (includeBlocked || !t.isBlockedFor(req.range))) return t;
    }
    return undefined;
  }

  /** Claims a held token for an in-flight vop, or undefined if none is usable now. */
  tryUse(req: TokenRequest): TokenUse | undefined {
    const t = this.find(req);
    if (t === undefined) return undefined;
    if (t.uses.size === 0) this.lru.remove(t);
    const use = new TokenUse(t, req.range, this.endUse);
    t.uses.add(use);
    return use;
  }

  /** Claims a token, acquiring or upgrading it through the client on a miss. */
  async use(req: TokenRequest, signal?: AbortSignal): Promise<TokenUse> {
    for (;;) {
      const use = this.tryUse(req);
      if (use) return use;
      await this.obtain(req, signal);
    }
  }

  /**
   * Claims all tokens at once. While any is missing, the vop holds none of
   * them (it waits for the missing one empty-handed), so two hosts that each
   * hold one token and want the other's cannot deadlock through revokes that
   * wait for their in-flight vops.
   */
  async useAll(reqs: readonly TokenRequest[], signal?: AbortSignal): Promise<TokenUse[]> {
    for (;;) {
      const uses: TokenUse[] = [];
      let missing: TokenRequest | undefined;
      for (const req of reqs) {
        const use = this.tryUse(req);
        if (!use) {
          missing = req;
          break;
        }
        uses.push(use);
      }
      if (!missing) return uses;
      for (const u of uses) u.done();
      await this.obtain(missing, signal);
    }
  }

  byId(lockId: number): HeldToken | undefined {
    return this.byLockId.get(lockId);
  }

  /** Marks a lock id the coordinator revoked before this agent knew it; a late grant for it is ignored. */
  noteOrphanRevoke(lockId: number): void {
    if (this.orphans.size >= MAX_ORPHANS) this.orphans.delete(this.orphans.values().next().value as number);
    this.orphans.add(lockId);
  }

  tokensOf(resource: string, space: TokenSpace): readonly HeldToken[] {
    return this.resources.get(resource)?.[space] ?? [];
  }

  /** The latest grant for the resource asked for uncached (write-through) mode. */
  isUncached(resource: string): boolean {
    return this.resources.get(resource)?.uncached ?? false;
  }

  /** Applies a revoke answer: drop the token, or shrink/downgrade it in place. */
  apply(token: HeldToken, answer: RevokeAnswer): void {
    if (answer.released) {
      this.remove(token);
      return;
    }
    token.mode = answer.mode as HeldToken['mode'];
    token.range = { start: answer.range.start, end: answer.range.end };
    this.resort(token);
  }

  /** Returns up to maxCount idle tokens, least recently used first (flushing what is cached under them). */
  async releaseIdle(maxCount = Infinity): Promise<number> {
    let released = 0;
    while (released < maxCount) {
      const t = this.lru.oldest();
      if (!t) break;
      this.lru.remove(t);
      if (await this.retire(t)) released++;
    }
    return released;
  }

  /** Forgets every token without telling the coordinator: the session that held them is gone. */
  dropAll(): void {
    this.generation++;
    const all = [...this.byLockId.values()];
    this.resources.clear();
    this.byLockId.clear();
    this.lru.clear();
    for (const t of all) {
      t.alive = false;
      t.unblock();
    }
  }

  private readonly endUse = (use: TokenUse): void => {
    const t = use.token;
    t.uses.delete(use);
    if (t.uses.size === 0 && t.alive) {
      this.lru.push(t);
      this.maybeTrim();
    }
    t.useEnded();
  };

  private async obtain(req: TokenRequest, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw cancelled();
    const blocked = this.find(req, true);
    if (blocked) return abortable(blocked.whenUnblocked(), signal);
    const key = `${req.space}\u0000${req.resource}`;
    const inFlight = this.pending.get(key);
    if (inFlight) return abortable(inFlight.catch(() => undefined), signal);
    const fetch = this.fetch(req).finally(() => this.pending.delete(key));
    this.pending.set(key, fetch);
    return abortable(fetch, signal);
  }

  private async fetch(req: TokenRequest): Promise<void> {
    const generation = this.generation;
    const reader = req.mode === 'WRITE' ? this.find({ ...req, mode: 'READ' }, true) : undefined;
    if (reader && reader.mode === 'READ') {
      if (reader.blocked) return reader.whenUnblocked();
      try {
        const grant = await this.client.convert(reader.lockId, { mode: 'WRITE', range: req.range });
        if (generation === this.generation && reader.alive) this.update(reader, grant);
        return;
      } catch (e) {
        if (!isCoherdError(e) || !CONVERT_FALLBACK.has(e.reason)) throw e;
        this.logger?.debug('token convert refused, acquiring instead', { resource: req.resource, lockId: reader.lockId, reason: e.reason });
      }
    }
    const range = req.space === 'data' ? req.range : undefined;
    const grant = await this.client.acquire({ resource: req.resource, space: req.space, mode: req.mode, range });
    if (!contains(grant.range, req.range) || !modeSatisfies(grant.mode as HeldToken['mode'], req.mode)) {
      throw new InternalError('INTERNAL', 'grant does not cover the request', { resource: req.resource, lockId: grant.lockId });
    }
    if (generation === this.generation) this.insert(grant);
  }

  private insert(grant: ClientGrant): void {
    if (this.orphans.delete(grant.lockId)) return;
    const existing = this.byLockId.get(grant.lockId);
    if (existing) return this.update(existing, grant);
    const t = new HeldToken(grant);
    const entry = this.entryFor(t.resource);
    entry.uncached = grant.uncached;
    const list = entry[t.space];
    list.splice(firstAfter(list, t.range.start), 0, t);
    this.byLockId.set(t.lockId, t);
    this.lru.push(t);
    this.dropRedundant(t, list);
    this.maybeTrim();
  }

  /** A convert (or repeated grant) of a token already held. */
  private update(t: HeldToken, grant: ClientGrant): void {
    const old = t.range;
    t.mode = grant.mode as HeldToken['mode'];
    t.range = { start: grant.range.start, end: grant.range.end };
    t.uncached = grant.uncached;
    t.fencingToken = grant.fencingToken;
    this.entryFor(t.resource).uncached = grant.uncached;
    this.resort(t);
    if (old.start < t.range.start) this.listener?.coverageLost(t, { start: old.start, end: Math.min(old.end, t.range.start) });
    if (old.end > t.range.end) this.listener?.coverageLost(t, { start: Math.max(old.start, t.range.end), end: old.end });
  }

  /** Gives back idle tokens a new grant fully covers with at least their mode (the new one serves all they did). */
  private dropRedundant(t: HeldToken, list: HeldToken[]): void {
    for (const o of [...list]) {
      if (o === t || o.uses.size > 0 || o.blocked || !contains(t.range, o.range) || !modeSatisfies(t.mode, o.mode)) continue;
      this.remove(o);
      this.client.releaseLazily(o.lockId);
    }
  }

  private remove(t: HeldToken): void {
    if (!t.alive) return;
    t.alive = false;
    this.byLockId.delete(t.lockId);
    this.lru.remove(t);
    const entry = this.resources.get(t.resource);
    if (!entry) return;
    const list = entry[t.space];
    const i = list.indexOf(t);
    if (i >= 0) list.splice(i, 1);
    if (entry.data.length === 0 && entry.attr.length === 0 && entry.dir.length === 0) this.resources.delete(t.resource);
  }

  private resort(t: HeldToken): void {
    const list = this.resources.get(t.resource)?.[t.space];
    if (!list) return;
    list.splice(list.indexOf(t), 1);
    list.splice(firstAfter(list, t.range.start), 0, t);
  }

  private entryFor(resource: string): ResourceTokens {
    let entry = this.resources.get(resource);
    if (!entry) {
      entry = { data: [], attr: [], dir: [], uncached: false };
      this.resources.set(resource, entry);
    }
    return entry;
  }

  private maybeTrim(): void {
    if (this.trimming || this.byLockId.size <= this.maxTokens || this.lru.size === 0) return;
    this.trimming = true;
    this.releaseIdle(this.byLockId.size - this.maxTokens)
      .catch((e) => this.logger?.warn('returning idle tokens failed', { error: String(e) }))
      .finally(() => {
        this.trimming = false;
      });
  }

  /** Flushes and drops caches under an idle token, then gives it back lazily. */
  private retire(t: HeldToken): Promise<boolean> {
    return t.exclusive(async () => {
      if (!t.alive || t.uses.size > 0) return false;
      t.block(t.range);
      try {
        await this.listener?.retiring(t);
        this.remove(t);
        this.client.releaseLazily(t.lockId);
        return true;
      } catch (e) {
        this.logger?.warn('could not flush an idle token, keeping it', { resource: t.resource, lockId: t.lockId, error: String(e) });
        if (t.alive && t.uses.size === 0) this.lru.push(t);
        return false;
      } finally {
        t.unblock();
      }
    });
  }
}

/** Index of the first token whose range starts after `start` (list sorted by start). */
function firstAfter(list: readonly HeldToken[], start: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].range.start <= start) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function cancelled(): CancelledError {
  return new CancelledError('CANCELLED', 'file operation cancelled while waiting for a token');
}

function abortable(p: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
