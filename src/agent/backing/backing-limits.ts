import { InvalidArgumentError, ResourceExhaustedError } from '../../common/errors';
import { ErrnoError } from './errno-error';

/** Largest single read or write the backing store accepts (the kernel sends ≤ 128 KiB). */
export const DEFAULT_MAX_IO_LENGTH = 16 * 1024 * 1024;
/** Linux limits: XATTR_NAME_MAX, XATTR_SIZE_MAX, PATH_MAX for a symlink target. */
export const XATTR_NAME_MAX = 255;
export const XATTR_SIZE_MAX = 64 * 1024;
export const SYMLINK_TARGET_MAX = 4095;

/** A byte offset or file size from the kernel: integer ≥ 0 (EINVAL), ≤ 2^53 − 1 (EFBIG). */
export function checkOffset(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${what} must be a non-negative integer`, { [what]: value });
  }
  if (value > Number.MAX_SAFE_INTEGER) {
    throw new ResourceExhaustedError('MESSAGE_TOO_LARGE', `${what} exceeds 2^53 - 1`, { [what]: value });
  }
  return value;
}

/** A read/write length: integer in [0, maxLength] (EINVAL), and offset + length stays exact (EFBIG). */
export function checkIo(offset: unknown, length: unknown, maxLength: number): { offset: number; length: number } {
  const off = checkOffset(offset, 'offset');
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > maxLength) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', 'length out of bounds', { length, maxLength });
  }
  if (off + length > Number.MAX_SAFE_INTEGER) {
    throw new ResourceExhaustedError('MESSAGE_TOO_LARGE', 'offset + length exceeds 2^53 - 1', { offset: off, length });
  }
  return { offset: off, length };
}

/** A permission mode: integer with only the 07777 bits (file type bits are ignored). */
export function checkMode(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new InvalidArgumentError('INVALID_MODE', 'mode must be an unsigned integer', { mode: value });
  }
  return value & 0o7777;
}

/** A uid/gid for chown: -1 or 0xffffffff mean "unchanged". */
export function checkId(value: unknown, what: string): number {
  if (value === -1 || value === 0xffffffff) return -1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xfffffffe) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${what} must be an unsigned 32-bit id or -1`, { [what]: value });
  }
  return value;
}

/** A time in ms since the epoch, for utimens. */
export function checkTimeMs(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > 8.64e15) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${what} must be a finite time in ms`, { [what]: value });
  }
  return value;
}

/** A string argument that reaches a syscall: no NUL bytes, bounded length (ENAMETOOLONG). */
export function checkName(value: unknown, what: string, maxBytes: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${what} must be a non-empty string without NUL`, { what });
  }
  if (Buffer.byteLength(value) > maxBytes) throw new ErrnoError('ENAMETOOLONG', `${what} longer than ${maxBytes} bytes`);
  return value;
}
