import type { ByteRange } from '../../common/byte-range';
import type { ClientGrant } from '../client/types';
import { HeldToken, TokenMode, TokenRequest, TokenSpace, modeSatisfies } from './held-token';

interface ResourceTokens {
  data: HeldToken[];
  attr: HeldToken[];
  dir: HeldToken[];
  /** The latest data grant for this resource said "uncached" (DESIGN §3.4). */
  uncached: boolean;
  /** DIRECT tokens held (at most one per space in practice): find() prefers them. */
  direct: number;
}

/**
 * The index of held tokens: per resource a Map entry, per space a short
 * array sorted by range start. Finding a covering token is a Map get, a
 * binary search and a scan back over the few tokens starting earlier.
 */
export class TokenTable {
  private readonly resources = new Map<string, ResourceTokens>();
  private readonly byLockId = new Map<number, HeldToken>();

  get size(): number {
    return this.byLockId.size;
  }

  /** A held token covering the request with a sufficient mode (skipping ones blocked there unless asked). */
  find(req: TokenRequest, includeBlocked = false): HeldToken | undefined {
    const entry = this.resources.get(req.resource);
    if (entry === undefined) return undefined;
    const list = entry[req.space];
    const { start, end } = req.range;
    if (entry.direct > 0) {
      // While the resource is direct, leftover caching tokens serve nothing (they are coherent, but
      // their pages would be dropped by the next direct write anyway): use the DIRECT token.
      for (const t of list) if (t.mode === 'DIRECT' && modeSatisfies(t.mode, req.mode) && (includeBlocked || !t.isBlockedFor(req.range))) return t;
    }
    for (let i = firstAfter(list, start) - 1; i >= 0; i--) {
      const t = list[i];
      if (t.range.end >= end && modeSatisfies(t.mode, req.mode) && (includeBlocked || !t.isBlockedFor(req.range))) return t;
    }
    return undefined;
  }

  byId(lockId: number): HeldToken | undefined {
    return this.byLockId.get(lockId);
  }

  tokensOf(resource: string, space: TokenSpace): readonly HeldToken[] {
    return this.resources.get(resource)?.[space] ?? [];
  }

  isUncached(resource: string): boolean {
    return this.resources.get(resource)?.uncached ?? false;
  }

  all(): HeldToken[] {
    return [...this.byLockId.values()];
  }

  add(grant: ClientGrant): HeldToken {
    const t = new HeldToken(grant);
    const entry = this.entryFor(t.resource);
    if (t.space === 'data') entry.uncached = grant.uncached;
    if (t.mode === 'DIRECT') entry.direct++;
    const list = entry[t.space];
    list.splice(firstAfter(list, t.range.start), 0, t);
    this.byLockId.set(t.lockId, t);
    return t;
  }

  /** A new grant for a held token (convert); returns the range it had. */
  update(t: HeldToken, grant: ClientGrant): ByteRange {
    const old = t.range;
    t.version = grant.version;
    t.uncached = grant.uncached;
    t.fencingToken = grant.fencingToken;
    if (t.space === 'data') this.entryFor(t.resource).uncached = grant.uncached;
    this.reshape(t, grant.mode as TokenMode, grant.range);
    return old;
  }

  /** Changes mode and range in place (shrink, downgrade, convert). */
  reshape(t: HeldToken, mode: TokenMode, range: ByteRange): void {
    const entry = this.resources.get(t.resource);
    if (entry && t.mode !== mode) entry.direct += (mode === 'DIRECT' ? 1 : 0) - (t.mode === 'DIRECT' ? 1 : 0);
    t.mode = mode;
    t.range = { start: range.start, end: range.end };
    const list = this.resources.get(t.resource)?.[t.space];
    if (!list) return;
    list.splice(list.indexOf(t), 1);
    list.splice(firstAfter(list, t.range.start), 0, t);
  }

  /** Forgets the token; false if it was already gone. */
  remove(t: HeldToken): boolean {
    if (!t.alive) return false;
    t.alive = false;
    this.byLockId.delete(t.lockId);
    const entry = this.resources.get(t.resource);
    if (!entry) return true;
    const list = entry[t.space];
    const i = list.indexOf(t);
    if (i >= 0) list.splice(i, 1);
    if (t.mode === 'DIRECT') entry.direct--;
    if (entry.data.length === 0 && entry.attr.length === 0 && entry.dir.length === 0) this.resources.delete(t.resource);
    return true;
  }

  /** Forgets everything; returns what was held. */
  clear(): HeldToken[] {
    const all = this.all();
    this.resources.clear();
    this.byLockId.clear();
    for (const t of all) t.alive = false;
    return all;
  }

  private entryFor(resource: string): ResourceTokens {
    let entry = this.resources.get(resource);
    if (!entry) {
      entry = { data: [], attr: [], dir: [], uncached: false, direct: 0 };
      this.resources.set(resource, entry);
    }
    return entry;
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
