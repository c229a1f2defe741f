import { promises as fsp } from 'fs';
import { loadFuseAddon } from '../fuse-addon';
import { AttrChanges, AttrReply, LowLevelOps } from '../low-level-ops';
import { PassthroughCore, afs, check, errnoError } from './passthrough-core';

const UTIME_NOW = (1 << 30) - 1;
const UTIME_OMIT = (1 << 30) - 2;

type AttrOps = Required<Pick<LowLevelOps, 'getattr' | 'setattr' | 'readlink' | 'statfs' | 'setxattr' | 'getxattr' | 'listxattr' | 'removexattr'>>;

function timeArgs(t: AttrChanges['atime']): [number, number] {
  if (t === undefined) return [0, UTIME_OMIT];
  if (t === 'now') return [0, UTIME_NOW];
  return [t.sec, t.nsec];
}

/** Attributes: on the open fd when the kernel names one (fstat/fchmod/ftruncate on a renamed file stay right). */
export function passthroughAttrOps(core: PassthroughCore): AttrOps {
  const sys = loadFuseAddon().sys;

  async function attrOf(ino: number, fh?: number): Promise<AttrReply> {
    const fd = fh !== undefined ? core.fh(fh) : core.node(ino).fd;
    return { attr: await afs.fstat(fd), attrTimeout: core.attrTimeout };
  }

  return {
    getattr: (_ctx, ino, fh) => attrOf(ino, fh),

    async setattr(_ctx, ino, c, fh) {
      const node = core.node(ino);
      const fd = fh !== undefined ? core.fh(fh) : undefined;
      const path = core.path(node);
      if (c.mode !== undefined) await (fd !== undefined ? afs.fchmod(fd, c.mode & 0o7777) : fsp.chmod(path, c.mode & 0o7777));
      if (c.uid !== undefined || c.gid !== undefined) {
        check(sys.fchown(fd ?? node.fd, c.uid ?? -1, c.gid ?? -1), 'chown');
      }
      if (c.size !== undefined) await (fd !== undefined ? afs.ftruncate(fd, c.size) : fsp.truncate(path, c.size));
      if (c.atime !== undefined || c.mtime !== undefined) {
        check(sys.utimens(fd ?? path, ...timeArgs(c.atime), ...timeArgs(c.mtime)), 'utimens');
      }
      return attrOf(ino, fh);
    },

    async readlink(_ctx, ino) {
      return check(sys.readlinkFd(core.node(ino).fd), 'readlink');
    },

    async statfs(_ctx, ino) {
      const s = await fsp.statfs(core.path(core.node(ino)), { bigint: true });
      return { bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, namemax: 255 };
    },

    async setxattr(_ctx, ino, name, value, flags) {
      check(sys.setxattr(core.path(core.node(ino)), name, value, flags, false), 'setxattr');
    },

    async getxattr(_ctx, ino, name, size) {
      return check(sys.getxattr(core.path(core.node(ino)), name, size, false), 'getxattr');
    },

    async listxattr(_ctx, ino, size) {
      return check(sys.listxattr(core.path(core.node(ino)), size, false), 'listxattr');
    },

    async removexattr(_ctx, ino, name) {
      if (name === '') throw errnoError('EINVAL', 'empty xattr name');
      check(sys.removexattr(core.path(core.node(ino)), name, false), 'removexattr');
    },
  };
}
