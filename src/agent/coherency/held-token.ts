import { ByteRange, overlaps } from '../../common/byte-range';
import type { ClientGrant, FencingToken } from '../client/types';

/** The token spaces the coherency layer caches (range locks belong to the rangeLock hook). */
export type TokenSpace = 'data' | 'attr' | 'dir';
/** DIRECT: the coordinator's mode for contended resources: nothing cached, I/O straight to the backing store. */
export type TokenMode = 'READ' | 'WRITE' | 'DIRECT';

/** What a vop needs: a token of at least `mode` covering `range` in one space of one resource. */
export interface TokenRequest {
  resource: string;
  space: TokenSpace;
  mode: TokenMode;
  range: ByteRange;
}

export function tokenRequest(resource: string, space: TokenSpace, mode: TokenMode, range: ByteRange): TokenRequest {
  return { resource, space, mode, range };
}

/** A DIRECT token serves reads and writes (uncached); WRITE serves READ. */
export function modeSatisfies(held: TokenMode, wanted: TokenMode): boolean {
  if (held === 'DIRECT') return true;
  if (wanted === 'DIRECT') return false;
  return held === 'WRITE' || wanted === 'READ';
}

/**
 * One token this agent holds. Convert, shrink and downgrade change `mode` and
 * `range` in place; `alive` turns false once it is released or dropped.
 *
 * In-flight vops register a use (their range) so a revoke can wait for them;
 * while a revoke or a retirement runs, new uses overlapping `blocked` wait.
 */
export class HeldToken {
  readonly lockId: number;
  readonly resource: string;
  readonly space: TokenSpace;
  mode: TokenMode;
  range: ByteRange;
  uncached: boolean;
  fencingToken: FencingToken;
  /** The coordinator's version of this lock that mode and range belong to (ClientGrant.version). */
  version: number;
  alive = true;
  blocked: ByteRange | undefined;
  /** DIRECT tokens: used since the grant or the last renewal (direct-renewal.ts). */
  usedSinceRenewal = false;

  /** Links of the idle-token LRU (intrusive-lru.ts). */
  lruPrev: HeldToken | undefined;
  lruNext: HeldToken | undefined;
  inLru = false;

  /** In-flight uses (usually zero or one: an array beats a Set here). */
  private readonly uses: TokenUse[] = [];
  private unblockWaiters: Array<() => void> = [];
  private drainWaiters: Array<{ range: ByteRange; resolve: () => void }> = [];
  private exclusiveTail: Promise<unknown> = Promise.resolve();

  constructor(grant: ClientGrant) {
    this.lockId = grant.lockId;
    this.resource = grant.resource;
    this.space = grant.space as TokenSpace;
    this.mode = grant.mode as TokenMode;
    this.range = { start: grant.range.start, end: grant.range.end };
    this.uncached = grant.uncached;
    this.fencingToken = grant.fencingToken;
    this.version = grant.version;
  }

  get inUse(): number {
    return this.uses.length;
  }

  addUse(use: TokenUse): void {
    this.uses.push(use);
  }

  /** Forgets an ended use; wakes revokes whose range became idle. */
  removeUse(use: TokenUse): void {
    const i = this.uses.indexOf(use);
    if (i < 0) return;
    const last = this.uses.pop() as TokenUse;
    if (i < this.uses.length) this.uses[i] = last;
    if (this.drainWaiters.length > 0) this.wakeDrained();
  }

  isBlockedFor(range: ByteRange): boolean {
    return this.blocked !== undefined && overlaps(this.blocked, range);
  }

  block(range: ByteRange): void {
    this.blocked = { start: range.start, end: range.end };
  }

  unblock(): void {
    this.blocked = undefined;
    const waiters = this.unblockWaiters;
    this.unblockWaiters = [];
    for (const w of waiters) w();
  }

  whenUnblocked(): Promise<void> {
    if (!this.blocked) return Promise.resolve();
    return new Promise((resolve) => this.unblockWaiters.push(resolve));
  }

  /** Resolves once no in-flight use overlaps `range`. */
  waitIdle(range: ByteRange): Promise<void> {
    if (!this.busyIn(range)) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push({ range, resolve }));
  }

  private wakeDrained(): void {
    const still: Array<{ range: ByteRange; resolve: () => void }> = [];
    for (const w of this.drainWaiters) {
      if (this.busyIn(w.range)) still.push(w);
      else w.resolve();
    }
    this.drainWaiters = still;
  }

  /** Runs fn after every earlier exclusive section of this token (revokes, retirement) finished. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusiveTail.then(fn, fn);
    this.exclusiveTail = run.catch(() => undefined);
    return run;
  }

  private busyIn(range: ByteRange): boolean {
    for (const u of this.uses) if (overlaps(u.range, range)) return true;
    return false;
  }
}

/** A vop's claim on a held token; call done() when the vop no longer needs it. */
export class TokenUse {
  private ended = false;

  constructor(
    readonly token: HeldToken,
    readonly range: ByteRange,
    private readonly onEnd: (use: TokenUse) => void,
  ) {}

  done(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
  }
}
