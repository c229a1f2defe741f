import { constants } from 'os';
import { loadFuseAddon, SysCalls } from '../fuse/ll/fuse-addon';
import { ErrnoError } from './errno-error';

const NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/**
 * The system calls Node's fs lacks (renameat2, mknod, fallocate, xattrs),
 * from the FUSE addon. The agent and the replica use their *Async forms,
 * which run on libuv's thread pool like Node's own fs calls.
 */
export function backingSys(): SysCalls {
  return loadFuseAddon().sys;
}

/** Throws the -errno an addon call returned as an ErrnoError (code = errno name). */
export function checkSys(result: number, op: string): void {
  if (result < 0) throw new ErrnoError(NAMES.get(-result) ?? 'EIO', `${op} failed`);
}
