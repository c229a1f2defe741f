import { LockMode, LockSpace } from './types';

/**
 * Which modes each lock space takes, and which modes conflict (DESIGN §2):
 * READ/READ, DIRECT/DIRECT and SHARED/SHARED are compatible, everything
 * else conflicts when the ranges overlap and the holders differ. DIRECT
 * (data and attr tokens only) is its own conflict class: holders cache
 * nothing, so they share with each other but with no caching mode
 * (docs/direct-mode.md).
 */
export const LOCK_SPACES: readonly LockSpace[] = ['data', 'attr', 'dir', 'range'];

export function isLockSpace(space: unknown): space is LockSpace {
  return space === 'data' || space === 'attr' || space === 'dir' || space === 'range';
}

/** Tokens (data, attr, dir) are revocable cache rights; range locks are application locks. */
export function isTokenSpace(space: LockSpace): boolean {
  return space !== 'range';
}

/** attr and dir tokens always cover the whole resource. */
export function isWholeFileSpace(space: LockSpace): boolean {
  return space === 'attr' || space === 'dir';
}

export function modeFitsSpace(space: LockSpace, mode: unknown): mode is LockMode {
  if (space === 'range') return mode === 'SHARED' || mode === 'EXCLUSIVE';
  if (mode === 'DIRECT') return hasDirectMode(space);
  return mode === 'READ' || mode === 'WRITE';
}

/** The token spaces that can be in direct mode (a directory's entries are never read uncached). */
export function hasDirectMode(space: LockSpace): boolean {
  return space === 'data' || space === 'attr';
}

/** WRITE and EXCLUSIVE conflict with everything of another holder. */
export function isExclusive(mode: LockMode): boolean {
  return mode === 'WRITE' || mode === 'EXCLUSIVE';
}

/** The conflict class of DIRECT tokens. */
export function isDirect(mode: LockMode): boolean {
  return mode === 'DIRECT';
}

/** True when two modes of one space cannot be held over the same bytes by different holders. */
export function modesConflict(a: LockMode, b: LockMode): boolean {
  if (isDirect(a) || isDirect(b)) return a !== b;
  return isExclusive(a) || isExclusive(b);
}

/** A revoke answer may keep `kept` of a lock held in `held`: the same mode, or READ of a WRITE. */
export function isReductionOf(held: LockMode, kept: LockMode): boolean {
  return kept === held || (held === 'WRITE' && kept === 'READ') || (held === 'EXCLUSIVE' && kept === 'SHARED');
}

/**
 * A conversion grants new rights (and therefore a new fencing token) when
 * it strengthens the mode or reaches bytes the lock did not cover.
 */
export function isUpgrade(
  oldMode: LockMode, oldStart: number, oldEnd: number,
  newMode: LockMode, newStart: number, newEnd: number,
): boolean {
  if (isExclusive(newMode) && !isExclusive(oldMode)) return true;
  // DIRECT and the caching modes give rights the other lacks (to cache / to write uncached).
  if (isDirect(newMode) !== isDirect(oldMode)) return true;
  return newStart < oldStart || newEnd > oldEnd;
}
