import { constants } from 'os';
import { SysCalls, loadFuseAddon } from '../fuse/ll/fuse-addon';
import { ErrnoError } from './errno-error';

const NAMES = Object.entries(constants.errno);
const ERANGE = constants.errno.ERANGE;

/** -errno from the addon as an ErrnoError (Node fs style: code = errno name). */
function check<T>(r: T | number, op: string): T {
  if (typeof r === 'number' && r < 0) throw new ErrnoError(NAMES.find(([, n]) => n === -r)?.[0] ?? 'EIO', op);
  return r as T;
}

/**
 * Extended attributes of the backing store, through the FUSE addon's
 * l*xattr system calls (never following a final symlink). One short
 * synchronous metadata call each, on the backing filesystem only.
 */
export class BackingXattrs {
  private readonly sys: SysCalls = loadFuseAddon().sys;

  async get(path: string, name: string): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      const size = check(this.sys.getxattr(path, name, 0, true) as number, 'getxattr');
      if (size === 0) return Buffer.alloc(0);
      const r = this.sys.getxattr(path, name, size, true);
      if (r === -ERANGE && attempt < 3) continue; // grew between the two calls
      return check(r, 'getxattr') as Buffer;
    }
  }

  async set(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    check(this.sys.setxattr(path, name, value, flags, true), 'setxattr');
  }

  async list(path: string): Promise<string[]> {
    for (let attempt = 0; ; attempt++) {
      const size = check(this.sys.listxattr(path, 0, true) as number, 'listxattr');
      if (size === 0) return [];
      const r = this.sys.listxattr(path, size, true);
      if (r === -ERANGE && attempt < 3) continue;
      return (check(r, 'listxattr') as Buffer).toString('utf8').split('\0').filter(Boolean);
    }
  }

  async remove(path: string, name: string): Promise<void> {
    check(this.sys.removexattr(path, name, true), 'removexattr');
  }
}
