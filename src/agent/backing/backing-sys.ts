import { constants } from 'os';
import { loadFuseAddon, SysCalls } from '../fuse/ll/fuse-addon';
import { ErrnoError } from './errno-error';

const NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/**
 * The system calls Node's fs lacks (renameat2, fallocate), from the FUSE
 * addon. They are synchronous: a rename with flags or a fallocate blocks
 * the event loop for one system call on the backing store.
 */
export function backingSys(): SysCalls {
  return loadFuseAddon().sys;
}

/** Throws the -errno an addon call returned as an ErrnoError (code = errno name). */
export function checkSys(result: number, op: string): void {
  if (result < 0) throw new ErrnoError(NAMES.get(-result) ?? 'EIO', `${op} failed`);
}
