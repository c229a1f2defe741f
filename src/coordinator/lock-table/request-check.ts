import { WHOLE_FILE, checkRange } from '../../common/byte-range';
import { InvalidArgumentError } from '../../common/errors';
import { isLockSpace, isWholeFileSpace, modeFitsSpace } from './modes';
import { Holder, LockMode, LockSpace } from './types';

/**
 * Validation of untrusted requests (DESIGN §10: every input bounded, bad
 * input gets a clear error and changes nothing). Nothing here touches the
 * table; the table validates first and mutates after.
 */
export const MAX_ID_LENGTH = 4096;

export function checkId(value: unknown, what: string, allowEmpty = false): string {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0) || value.length > MAX_ID_LENGTH) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${what} must be a ${allowEmpty ? '' : 'non-empty '}string of at most ${MAX_ID_LENGTH} characters`, { [what]: typeof value === 'string' ? value.slice(0, 64) : typeof value });
  }
  return value;
}

export function checkHolder(holder: unknown): Holder {
  if (typeof holder !== 'object' || holder === null) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'holder must be { sessionId, owner }');
  }
  const h = holder as Record<string, unknown>;
  return { sessionId: checkId(h.sessionId, 'sessionId'), owner: checkId(h.owner, 'owner', true) };
}

export function checkSpace(space: unknown): LockSpace {
  if (!isLockSpace(space)) throw new InvalidArgumentError('INVALID_ARGUMENT', 'space must be data, attr, dir or range', { space });
  return space;
}

export function checkMode(space: LockSpace, mode: unknown): LockMode {
  if (!modeFitsSpace(space, mode)) {
    const allowed = space === 'range' ? 'SHARED or EXCLUSIVE' : 'READ or WRITE';
    throw new InvalidArgumentError('INVALID_MODE', `mode of a ${space} lock must be ${allowed}`, { space, mode });
  }
  return mode;
}

/** attr and dir tokens cover the whole file whatever range was sent. */
export function checkSpaceRange(space: LockSpace, range: unknown): { start: number; end: number } {
  if (isWholeFileSpace(space)) return { start: WHOLE_FILE.start, end: WHOLE_FILE.end };
  if (typeof range !== 'object' || range === null) throw new InvalidArgumentError('INVALID_RANGE', 'range must be { start, end }');
  const r = range as Record<string, unknown>;
  return checkRange(r.start, r.end);
}

export function checkWait(wait: unknown): boolean {
  if (typeof wait !== 'boolean') throw new InvalidArgumentError('INVALID_ARGUMENT', 'wait must be a boolean', { wait });
  return wait;
}

/** undefined (or null) waits forever. */
export function checkTimeout(timeoutMs: unknown): number | undefined {
  if (timeoutMs === undefined || timeoutMs === null) return undefined;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'timeoutMs must be a non-negative finite number', { timeoutMs });
  }
  return timeoutMs;
}

export function checkLockId(lockId: unknown): number {
  if (typeof lockId !== 'number' || !Number.isSafeInteger(lockId) || lockId <= 0) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'lockId must be a positive integer', { lockId });
  }
  return lockId;
}

export function checkVersion(version: unknown): number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version <= 0) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'version must be a positive integer', { version });
  }
  return version;
}

export function checkRequestObject(req: unknown, what: string): Record<string, unknown> {
  if (typeof req !== 'object' || req === null) throw new InvalidArgumentError('INVALID_ARGUMENT', `${what} must be an object`);
  return req as Record<string, unknown>;
}

/** A validated acquire or convert, before the table looks at it. */
export interface CheckedRequest {
  requestId: string;
  mode: LockMode;
  start: number;
  end: number;
  wait: boolean;
  timeoutMs: number | undefined;
  /** Acquires of data/attr tokens: never shaped DIRECT (direct-shape.ts). */
  noDirect?: boolean;
}

export function checkNoDirect(noDirect: unknown): boolean {
  if (noDirect === undefined || noDirect === null) return false;
  if (typeof noDirect !== 'boolean') throw new InvalidArgumentError('INVALID_ARGUMENT', 'noDirect must be a boolean', { noDirect });
  return noDirect;
}

export function checkEpoch(epoch: unknown): number {
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'epoch must be a non-negative integer', { epoch });
  }
  return epoch;
}

/** A reclaimed fencing token: from this epoch or an earlier one, never from the future. */
export function checkFencingToken(token: unknown, currentEpoch: number): { epoch: number; counter: number } {
  if (typeof token !== 'object' || token === null) throw new InvalidArgumentError('INVALID_ARGUMENT', 'fencingToken must be { epoch, counter }');
  const t = token as Record<string, unknown>;
  const epoch = checkEpoch(t.epoch);
  if (typeof t.counter !== 'number' || !Number.isSafeInteger(t.counter) || t.counter < 0) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'fencingToken.counter must be a non-negative integer', { counter: t.counter });
  }
  if (epoch > currentEpoch) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'fencingToken is from a later epoch than this table', { epoch, currentEpoch });
  }
  return { epoch, counter: t.counter };
}
