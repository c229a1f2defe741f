import { contains } from '../../common/byte-range';
import type { ClientGrant, TokenClient } from '../client/types';
import type { DirectRenewal } from './direct-renewal';
import { HeldToken, modeSatisfies } from './held-token';
import type { IdleTokens } from './idle-tokens';
import type { TokenCacheListener } from './token-cache-listener';
import type { TokenTable } from './token-table';

const MAX_ORPHANS = 1024;

export interface GrantIntakeParts {
  table: TokenTable;
  idle: IdleTokens;
  renewal?: DirectRenewal;
  client: TokenClient;
  listener(): TokenCacheListener | undefined;
  /** Forgets a held token (table, idle LRU, renewal). */
  remove(t: HeldToken): void;
}

/**
 * Turns the coordinator's grants into held tokens. A new lock joins the
 * table idle; a DIRECT one is scheduled for renewal, any other makes the
 * idle tokens it covers redundant. A repeated or converted grant of a held
 * lock updates it in place. A grant for a lock id the coordinator revoked
 * before this cache knew it (an orphan) is never used.
 */
export class GrantIntake {
  /** Revokes that arrived for lock ids not (yet) known. */
  private readonly orphans = new Set<number>();

  constructor(private readonly parts: GrantIntakeParts) {}

  /** Marks a lock id the coordinator revoked before this cache knew it; a late grant for it is ignored. */
  noteOrphanRevoke(lockId: number): void {
    if (this.orphans.size >= MAX_ORPHANS) this.orphans.delete(this.orphans.values().next().value as number);
    this.orphans.add(lockId);
  }

  /** The held token for the grant, or undefined for an orphan's. */
  insert(grant: ClientGrant): HeldToken | undefined {
    const { table, idle, renewal } = this.parts;
    if (this.orphans.delete(grant.lockId)) return undefined;
    const existing = table.byId(grant.lockId);
    if (existing) {
      if (grant.version > existing.version) this.update(existing, grant);
      return existing;
    }
    const t = table.add(grant);
    idle.push(t);
    if (t.mode === 'DIRECT') renewal?.schedule(t);
    else this.dropRedundant(t);
    idle.maybeTrim();
    return t;
  }

  /** A convert (or repeated grant) of a held token; clean caches outside a smaller range go. */
  private update(t: HeldToken, grant: ClientGrant): void {
    const old = this.parts.table.update(t, grant);
    const listener = this.parts.listener();
    if (old.start < t.range.start) listener?.coverageLost(t, { start: old.start, end: Math.min(old.end, t.range.start) });
    if (old.end > t.range.end) listener?.coverageLost(t, { start: Math.max(old.start, t.range.end), end: old.end });
  }

  /** Gives back idle tokens a new grant fully covers with at least their mode (it serves all they did). */
  private dropRedundant(t: HeldToken): void {
    for (const o of [...this.parts.table.tokensOf(t.resource, t.space)]) {
      if (o === t || o.inUse > 0 || o.blocked || !contains(t.range, o.range) || !modeSatisfies(t.mode, o.mode)) continue;
      this.parts.remove(o);
      this.parts.client.releaseLazily(o.lockId);
    }
  }
}
