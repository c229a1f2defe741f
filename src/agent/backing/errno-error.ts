import { constants } from 'os';
import { InternalError } from '../../common/errors';

/** An error shaped like Node's fs errors (`code` = errno name), for failures the backing store detects itself. */
export class ErrnoError extends Error {
  readonly code: string;
  readonly errno: number;

  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ErrnoError';
    this.code = code;
    this.errno = -((constants.errno as Record<string, number>)[code] ?? 5);
  }
}

/** true for errors that already carry an errno name (Node fs errors, ErrnoError). */
export function hasErrnoCode(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code in constants.errno;
}

/**
 * Normalizes anything a backing call threw: errno-coded errors and domain
 * errors pass; anything else (a Node argument error, a bug) becomes an
 * InternalError (EIO) carrying the original as cause.
 */
export function normalizeBackingError(e: unknown, op: string): Error {
  if (hasErrnoCode(e)) return e as Error;
  if (e instanceof Error && 'reason' in e) return e;
  return new InternalError('INTERNAL', 'backing operation failed', { op }, { cause: e });
}
