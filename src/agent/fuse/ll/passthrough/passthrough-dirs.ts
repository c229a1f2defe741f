import { promises as fsp } from 'fs';
import { AddonDirEntry } from '../fuse-addon';
import { LowLevelOps } from '../low-level-ops';
import { PassthroughCore, errnoError } from './passthrough-core';

type DirOps = Required<Pick<LowLevelOps, 'opendir' | 'readdirplus' | 'releasedir' | 'fsyncdir'>>;

interface DirHandle { ino: number; names: string[] | null }

/** Bytes one fuse_direntplus takes: entry_out (128) + dirent header (24) + name padded to 8. */
function direntplusSize(name: string): number {
  return 152 + ((Buffer.byteLength(name) + 7) & ~7);
}

const S_IFDIR = 0o040000;

/**
 * readdirplus over a snapshot of the directory taken at offset 0. Every
 * entry but . and .. is looked up (one reference each); references for
 * entries the kernel did not take (buffer full, reply lost) are dropped
 * right away in sent().
 */
export function passthroughDirOps(core: PassthroughCore): DirOps {
  const dirs = new Map<number, DirHandle>();
  let nextFh = 1;

  function dir(fh: number): DirHandle {
    const d = dirs.get(fh);
    if (!d) throw errnoError('EBADF', 'unknown directory handle');
    return d;
  }

  return {
    async opendir(_ctx, ino) {
      core.node(ino);
      const fh = nextFh++;
      dirs.set(fh, { ino, names: null });
      return { fh };
    },

    async readdirplus(_ctx, ino, fh, size, offset) {
      const d = dir(fh);
      const node = core.node(ino);
      if (offset === 0 || d.names === null) d.names = ['.', '..', ...(await fsp.readdir(core.path(node)))];
      const names = d.names;
      const picked: { name: string; off: number }[] = [];
      let bytes = 0;
      for (let i = offset; i < names.length; i++) {
        bytes += direntplusSize(names[i]);
        if (bytes > size) break;
        picked.push({ name: names[i], off: i + 1 });
      }
      const looked = await Promise.all(picked.map(async (p): Promise<AddonDirEntry | null> => {
        if (p.name === '.' || p.name === '..') {
          return { name: p.name, off: p.off, ino: 0, generation: 0, attr: { ino: 1, mode: S_IFDIR, nlink: 2, uid: 0, gid: 0, rdev: 0, size: 0, blksize: 4096, blocks: 0 }, attrTimeout: 0, entryTimeout: 0 };
        }
        try {
          return { ...(await core.lookup(node, p.name)), name: p.name, off: p.off };
        } catch {
          return null; // vanished since the snapshot
        }
      }));
      const entries = looked.filter((e): e is AddonDirEntry => e !== null);
      return {
        entries,
        sent(count) {
          for (const e of entries.slice(count)) if (e.ino !== 0) core.table.forget(e.ino, 1);
        },
      };
    },

    async releasedir(_ctx, _ino, fh) {
      dir(fh);
      dirs.delete(fh);
    },

    fsyncdir: async (_ctx, _ino, fh) => { dir(fh); },
  };
}
