import { LockMode, LockSpace } from './types';

/**
 * Which modes each lock space takes, and which modes conflict (DESIGN §2):
 * READ/READ and SHARED/SHARED are compatible, everything else conflicts
 * when the ranges overlap and the holders differ.
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
  return mode === 'READ' || mode === 'WRITE';
}

/** WRITE and EXCLUSIVE conflict with everything of another holder. */
export function isExclusive(mode: LockMode): boolean {
  return mode === 'WRITE' || mode === 'EXCLUSIVE';
}

/** True when two modes of one space cannot be held over the same bytes by different holders. */
export function modesConflict(a: LockMode, b: LockMode): boolean {
  return isExclusive(a) || isExclusive(b);
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
  return newStart < oldStart || newEnd > oldEnd;
}
