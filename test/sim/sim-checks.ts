import type { HeldToken } from '../../src/agent/coherency/held-token';
import type { ClientGrant } from '../../src/agent/client/types';
import type { LockTable } from '../../src/coordinator/lock-table/lock-table';

/** What one host believes it holds, as the checks see it. */
export interface Belief {
  host: string;
  lockId: number;
  resource: string;
  space: string;
  mode: string;
  start: number;
  end: number;
}

export function beliefsOfTokens(host: string, tokens: readonly HeldToken[]): Belief[] {
  return tokens.filter((t) => t.alive).map((t) => ({ host, lockId: t.lockId, resource: t.resource, space: t.space, mode: t.mode, start: t.range.start, end: t.range.end }));
}

export function beliefsOfGrants(host: string, grants: readonly ClientGrant[]): Belief[] {
  return grants.map((g) => ({ host, lockId: g.lockId, resource: g.resource, space: g.space, mode: g.mode, start: g.range.start, end: g.range.end }));
}

const exclusive = (mode: string) => mode === 'WRITE' || mode === 'EXCLUSIVE';
/** DIRECT shares with DIRECT only (docs/direct-mode.md); otherwise one exclusive side conflicts. */
const modesConflict = (a: string, b: string) => (a === 'DIRECT' || b === 'DIRECT' ? a !== b : exclusive(a) || exclusive(b));
/** What a holder may believe of a grant in `granted` mode: that mode, or READ of WRITE. */
const within = (believed: string, granted: string) => believed === granted || (granted === 'WRITE' && believed === 'READ');

/**
 * The clients' view of safety: no two hosts believe they hold conflicting
 * tokens (overlapping ranges of one resource and space, one of them WRITE,
 * or one DIRECT and the other not).
 * Returns a description of the first violation, or undefined.
 */
export function conflictingBeliefs(beliefs: readonly Belief[]): string | undefined {
  for (let i = 0; i < beliefs.length; i++) {
    for (let j = i + 1; j < beliefs.length; j++) {
      const a = beliefs[i];
      const b = beliefs[j];
      if (a.host === b.host || a.resource !== b.resource || a.space !== b.space) continue;
      if (a.start < b.end && b.start < a.end && modesConflict(a.mode, b.mode)) {
        return `${a.host} believes ${a.mode} [${a.start}, ${a.end}) (lock ${a.lockId}) while ${b.host} believes ${b.mode} [${b.start}, ${b.end}) (lock ${b.lockId}) of ${a.resource}/${a.space}`;
      }
    }
  }
  return undefined;
}

/** Every belief lies within the coordinator's grant of that lock (mode no stronger, range within). */
export function beliefOutsideTable(beliefs: readonly Belief[], sessionOf: (host: string) => string, table: LockTable): string | undefined {
  for (const b of beliefs) {
    const g = table.getGrant(b.lockId);
    if (!g || g.holder.sessionId !== sessionOf(b.host)) return `${b.host} believes lock ${b.lockId} (${b.mode} [${b.start}, ${b.end})) that the coordinator does not grant it`;
    if (b.start < g.range.start || b.end > g.range.end || !within(b.mode, g.mode)) {
      return `${b.host} believes ${b.mode} [${b.start}, ${b.end}) of lock ${b.lockId}; the coordinator grants ${g.mode} [${g.range.start}, ${g.range.end})`;
    }
  }
  return undefined;
}

/**
 * Under DIRECT a host caches nothing (docs/direct-mode.md): while it
 * believes a DIRECT data token of the file and uses it (the token is not
 * blocked for a renewal and no operation of the host runs outside it), it
 * has no clean cached page of the file, once no operation is in flight.
 */
export function cachedUnderDirect(host: string, directInUse: boolean, cleanPages: number): string | undefined {
  if (!directInUse || cleanPages === 0) return undefined;
  return `${host} holds a DIRECT data token and caches ${cleanPages} clean page(s) of the file`;
}

/**
 * A host whose kernel caches the file (a page-cache open: its pages and
 * shared mappings are dropped only by a revoke) holds no DIRECT data or
 * attr token of it: its acquires carry noDirect, so other hosts' DIRECT
 * writes must revoke its caching tokens (docs/direct-mode.md).
 */
export function kernelCachedUnderDirect(host: string, tokens: ReadonlyArray<{ alive: boolean; mode: string; space: string; lockId: number }>): string | undefined {
  const t = tokens.find((x) => x.alive && x.mode === 'DIRECT');
  return t && `${host}'s kernel caches the file, yet it holds DIRECT ${t.space} token ${t.lockId}`;
}
