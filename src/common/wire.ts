import { ByteRange, checkRange, WHOLE_FILE } from './byte-range';
import { InvalidArgumentError } from './errors';
import type { FencingToken, LockMode, LockSpace } from './lock-shapes';

/** Conversions between coherd.v1 wire enums/messages and domain types, with input bounds. */

const SPACE_FROM_WIRE: Record<string, LockSpace> = { DATA: 'data', ATTR: 'attr', DIR: 'dir', RANGE_LOCK: 'range' };
const SPACE_TO_WIRE: Record<LockSpace, string> = { data: 'DATA', attr: 'ATTR', dir: 'DIR', range: 'RANGE_LOCK' };
const MODES: ReadonlySet<string> = new Set(['READ', 'WRITE', 'DIRECT', 'SHARED', 'EXCLUSIVE']);

export const MAX_RESOURCE_BYTES = 1024;
export const MAX_OWNER_BYTES = 256;
export const MAX_CLIENT_NAME_BYTES = 256;

export function spaceFromWire(value: unknown): LockSpace {
  const space = typeof value === 'string' ? SPACE_FROM_WIRE[value] : undefined;
  if (!space) throw new InvalidArgumentError('INVALID_ARGUMENT', `unknown lock space ${JSON.stringify(value)}`, { space: value });
  return space;
}

export function spaceToWire(space: LockSpace): string {
  return SPACE_TO_WIRE[space];
}

export function modeFromWire(value: unknown): LockMode {
  if (typeof value !== 'string' || !MODES.has(value)) {
    throw new InvalidArgumentError('INVALID_MODE', `unknown lock mode ${JSON.stringify(value)}`, { mode: value });
  }
  return value as LockMode;
}

export function rangeFromWire(value: { start?: unknown; end?: unknown } | null | undefined, space: LockSpace): ByteRange {
  if (space === 'attr' || space === 'dir') return { ...WHOLE_FILE };
  if (!value) throw new InvalidArgumentError('INVALID_RANGE', 'range is required', {});
  return checkRange(value.start, value.end);
}

export function rangeToWire(range: ByteRange): { start: number; end: number } {
  return { start: range.start, end: range.end };
}

export function boundedString(value: unknown, field: string, maxBytes: number, required: boolean): string {
  const s = typeof value === 'string' ? value : '';
  if (required && s.length === 0) throw new InvalidArgumentError('INVALID_ARGUMENT', `${field} is required`, { field });
  if (Buffer.byteLength(s) > maxBytes) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${field} is longer than ${maxBytes} bytes`, { field });
  }
  return s;
}

export function nonNegativeMs(value: unknown, field: string): number | undefined {
  const n = Number(value ?? 0);
  if (!Number.isFinite(n) || n < 0 || !Number.isInteger(n)) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${field} must be a non-negative integer`, { field, value });
  }
  return n === 0 ? undefined : n;
}

export function fencingToWire(t: FencingToken): { epoch: number; counter: number } {
  return { epoch: t.epoch, counter: t.counter };
}

/** "epoch.counter", the form handed to applications (COHERD_FENCING_TOKEN). */
export function formatFencingToken(t: FencingToken): string {
  return `${t.epoch}.${t.counter}`;
}

/** Lexicographic (epoch, counter) comparison. */
export function compareFencingTokens(a: FencingToken, b: FencingToken): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.counter - b.counter;
}
