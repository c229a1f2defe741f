import { constants as C } from 'fs';
import { loadFuseAddon } from '../fuse-addon';
import { LowLevelOps } from '../low-level-ops';
import { PassthroughCore, afs, check, errnoError } from './passthrough-core';

type FileOps = Required<Pick<LowLevelOps, 'open' | 'create' | 'read' | 'write' | 'flush' | 'release' | 'fsync' | 'fallocate' | 'lseek' | 'copyFileRange'>>;

/** Open files are backing fds opened with the caller's flags; fh is that fd. */
export function passthroughFileOps(core: PassthroughCore): FileOps {
  const sys = loadFuseAddon().sys;
  const openOpts = () => ({ keepCache: core.keepCache });

  return {
    async open(_ctx, ino, flags) {
      const fd = await afs.open(core.path(core.node(ino)), flags & ~(C.O_NOFOLLOW | C.O_CREAT | C.O_EXCL | C.O_NOCTTY));
      core.openFds.add(fd);
      return { fh: fd, ...openOpts() };
    },

    async create(ctx, parent, name, mode, flags) {
      const dir = core.node(parent);
      const fd = await afs.open(core.path(dir, name), (flags | C.O_CREAT) & ~(C.O_NOFOLLOW | C.O_NOCTTY), mode & 0o7777);
      try {
        if (core.needsChmod(mode)) await afs.fchmod(fd, mode & 0o7777);
        const owner = await core.ownerFor(ctx, dir);
        if (owner) await afs.fchown(fd, owner.uid, owner.gid);
        const entry = await core.lookup(dir, name);
        core.openFds.add(fd);
        return { entry, open: { fh: fd, ...openOpts() } };
      } catch (e) {
        await afs.close(fd).catch(() => undefined);
        throw e;
      }
    },

    async read(_ctx, _ino, fh, size, offset) {
      const buf = Buffer.allocUnsafe(size);
      const n = (await afs.read(core.fh(fh), buf, 0, size, offset)).bytesRead;
      return buf.subarray(0, n);
    },

    async write(_ctx, _ino, fh, data, offset) {
      return (await afs.write(core.fh(fh), data, 0, data.length, offset)).bytesWritten;
    },

    flush: async (_ctx, _ino, fh) => { core.fh(fh); },

    async release(_ctx, _ino, fh) {
      core.fh(fh);
      core.openFds.delete(fh);
      await afs.close(fh);
    },

    fsync: async (_ctx, _ino, fh, datasync) => (datasync ? afs.fdatasync(core.fh(fh)) : afs.fsync(core.fh(fh))),

    fallocate: async (_ctx, _ino, fh, mode, offset, length) => {
      check(sys.fallocate(core.fh(fh), mode, offset, length), 'fallocate');
    },

    lseek: async (_ctx, _ino, fh, offset, whence) => check(await sys.lseekAsync(core.fh(fh), offset, whence), 'lseek'),

    // The whole length in the kernel, on the pool (the backing fds are the handles; the kernel checked modes and overlap).
    copyFileRange: async (_ctx, _ino, fh, offset, out, length, flags) => {
      if (flags !== 0) throw errnoError('EINVAL', 'copy_file_range');
      return check(await sys.copyFileRangeAsync(core.fh(fh), offset, core.fh(out.fh), out.offset, length), 'copy_file_range');
    },
  };
}
