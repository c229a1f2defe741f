import { promises as fsp } from 'fs';
import { loadFuseAddon } from '../fuse-addon';
import { LowLevelOps, RequestContext } from '../low-level-ops';
import { PassthroughCore, check, errnoError } from './passthrough-core';

const RENAME_FLAGS = 1 | 2; // RENAME_NOREPLACE | RENAME_EXCHANGE

type EntryOps = Required<Pick<LowLevelOps, 'lookup' | 'forget' | 'mkdir' | 'mknod' | 'symlink' | 'link' | 'unlink' | 'rmdir' | 'rename'>>;

/** Namespace ops: each new name is created, given to the caller, then looked up (one reference). */
export function passthroughEntryOps(core: PassthroughCore): EntryOps {
  const sys = loadFuseAddon().sys;

  /** chmod (undo the process umask) and chown (the caller) a new name, not following symlinks. */
  async function finish(ctx: RequestContext, parentId: number, path: string, mode: number | null): Promise<void> {
    if (mode !== null && core.needsChmod(mode)) await fsp.chmod(path, mode & 0o7777);
    const owner = await core.ownerFor(ctx, core.node(parentId));
    if (owner) await fsp.lchown(path, owner.uid, owner.gid);
  }

  return {
    lookup: (_ctx, parent, name) => core.lookup(core.node(parent), name),

    forget: (ino, n) => core.table.forget(ino, n),

    async mkdir(ctx, parent, name, mode) {
      const path = core.path(core.node(parent), name);
      await fsp.mkdir(path, mode & 0o7777);
      await finish(ctx, parent, path, mode);
      return core.lookup(core.node(parent), name);
    },

    async mknod(ctx, parent, name, mode, rdev) {
      const path = core.path(core.node(parent), name);
      check(sys.mknod(path, mode, rdev), 'mknod');
      await finish(ctx, parent, path, mode);
      return core.lookup(core.node(parent), name);
    },

    async symlink(ctx, parent, name, target) {
      const path = core.path(core.node(parent), name);
      await fsp.symlink(target, path);
      await finish(ctx, parent, path, null);
      return core.lookup(core.node(parent), name);
    },

    async link(_ctx, ino, newParent, newName) {
      const node = core.node(ino);
      check(sys.linkat(core.path(node), core.path(core.node(newParent), newName)), 'link');
      return core.lookup(core.node(newParent), newName);
    },

    unlink: (_ctx, parent, name) => fsp.unlink(core.path(core.node(parent), name)),

    rmdir: (_ctx, parent, name) => fsp.rmdir(core.path(core.node(parent), name)),

    async rename(_ctx, parent, name, newParent, newName, flags) {
      const from = core.path(core.node(parent), name);
      const to = core.path(core.node(newParent), newName);
      if (flags & ~RENAME_FLAGS) throw errnoError('EINVAL', 'rename flags');
      if (flags === 0) await fsp.rename(from, to);
      else check(sys.rename2(from, to, flags), 'rename');
    },
  };
}
