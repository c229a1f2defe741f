import { InvalidArgumentError } from './errors';

/**
 * Half-open byte range [start, end). Offsets are exact integers below 2^53
 * (JavaScript numbers); END_OF_FILE (2^63) stands for "to the end of the file
 * and beyond", which is also what DESIGN §10's bound [0, 2^63) allows.
 */
export interface ByteRange {
  start: number;
  end: number;
}

export const END_OF_FILE = 2 ** 63;
export const WHOLE_FILE: ByteRange = Object.freeze({ start: 0, end: END_OF_FILE });

export function isValidOffset(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && (n <= Number.MAX_SAFE_INTEGER || n === END_OF_FILE);
}

/** Validates untrusted input and returns a fresh range; throws InvalidArgumentError('INVALID_RANGE'). */
export function checkRange(start: unknown, end: unknown): ByteRange {
  if (typeof start !== 'number' || typeof end !== 'number' || !Number.isFinite(start) || !Number.isFinite(end)) {
    throw new InvalidArgumentError('INVALID_RANGE', 'range bounds must be numbers', { start, end });
  }
  if (start < 0 || end < 0) {
    throw new InvalidArgumentError('INVALID_RANGE', 'range bounds must not be negative', { start, end });
  }
  if (!isValidOffset(start) || start === END_OF_FILE || !isValidOffset(end)) {
    throw new InvalidArgumentError('INVALID_RANGE', 'range bounds must be integers below 2^53 (or end = 2^63 for end of file)', { start, end });
  }
  if (end <= start) {
    throw new InvalidArgumentError('INVALID_RANGE', 'range end must be greater than start', { start, end });
  }
  return { start, end };
}

export function overlaps(a: ByteRange, b: ByteRange): boolean {
  return a.start < b.end && b.start < a.end;
}

export function contains(outer: ByteRange, inner: ByteRange): boolean {
  return outer.start <= inner.start && inner.end <= outer.end;
}

export function formatRange(r: ByteRange): string {
  return `${r.start}:${r.end === END_OF_FILE ? 'EOF' : r.end}`;
}

/** Parses "START:END" (END may be "EOF" or empty for end of file) from a CLI argument. */
export function parseRange(text: string): ByteRange {
  const m = /^\s*(-?\d+)\s*:\s*(-?\d+|EOF|eof)?\s*$/.exec(text);
  if (!m) throw new InvalidArgumentError('INVALID_RANGE', `malformed range "${text}", expected START:END`, { text });
  const start = Number(m[1]);
  const end = m[2] === undefined || /eof/i.test(m[2]) ? END_OF_FILE : Number(m[2]);
  return checkRange(start, end);
}
