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
 * l*xattr system calls (never following a final symlink), run on libuv's
 * thread pool: on an NFS export each is a round trip the JS thread must
 * not wait for.
 */
export class BackingXattrs {
  private readonly sys: SysCalls = loadFuseAddon().sys;

  async get(path: string, name: string): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      const size = check(await this.sys.lgetxattrAsync(path, name, 0) as number, 'getxattr');
      if (size === 0) return Buffer.alloc(0);
      const r = await this.sys.lgetxattrAsync(path, name, size);
      if (r === -ERANGE && attempt < 3) continue; // grew between the two calls
      return check(r, 'getxattr') as Buffer;
    }
  }

  async set(path: string, name: string, value: Buffer, flags: number): Promise<void> {
    check(await this.sys.lsetxattrAsync(path, name, value, flags), 'setxattr');
  }

  async list(path: string): Promise<string[]> {
    for (let attempt = 0; ; attempt++) {
      const size = check(await this.sys.llistxattrAsync(path, 0) as number, 'listxattr');
      if (size === 0) return [];
      const r = await this.sys.llistxattrAsync(path, size);
      if (r === -ERANGE && attempt < 3) continue;
      return (check(r, 'listxattr') as Buffer).toString('utf8').split('\0').filter(Boolean);
    }
  }

  async remove(path: string, name: string): Promise<void> {
    check(await this.sys.lremovexattrAsync(path, name), 'removexattr');
  }
}
