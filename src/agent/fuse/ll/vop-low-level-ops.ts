import { constants } from 'os';
import { fuseErrnoOf } from '../fuse-errno';
import { VopBuilder } from '../vop-builder';
import { NewOwner, VopArgs, VopDirEntry, VopResults, VopRunner, VopStat } from '../../vop';
import { COPY_CHUNK_BYTES } from '../../coherency/copy-range-op';
import { AddonDirEntry, AddonEntry } from './fuse-addon';
import { AttrTimeoutOf, EntryLookup, EntryTimeoutOf, NOT_KEPT } from './entry-lookup';
import type { FileTailReader, PageCachePolicy } from './kernel-page-cache';
import { LowLevelOps, RequestContext } from './low-level-ops';
import { MovedNodes } from './moved-nodes';
import { NodeVops } from './node-vops';
import { DirEntryVops } from './dir-entry-vops';
import { PathNode, PathNodeTable } from './path-node-table';

const E = constants.errno;
const O_TRUNC = 0o1000;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;
const errno = (code: keyof typeof E) => Object.assign(new Error(code), { code });
const isRoot = process.getuid?.() === 0;
const inDir = (dirPath: string, name: string) => (dirPath === '/' ? `/${name}` : `${dirPath}/${name}`);

/**
 * The owner of an entry the caller creates: the caller, when the agent can
 * give files away (root) and the caller is someone else. The kernel has
 * already applied the caller's umask to the mode (no FUSE_CAP_DONT_MASK).
 */
function ownerOf(ctx: RequestContext): NewOwner | undefined {
  return isRoot && (ctx.uid !== 0 || ctx.gid !== 0) ? { uid: ctx.uid, gid: ctx.gid } : undefined;
}

export { NOT_KEPT } from './entry-lookup';
export type { AttrTimeoutOf, EntryTimeoutOf } from './entry-lookup';

/** The kernel cache's timeouts (default: nothing cached). */
export interface ReplyTimeouts {
  /** Of a reply made by a lookup or create (a directory's: 0, see attrSince). */
  attr?: AttrTimeoutOf;
  /** Of a GETATTR or SETATTR reply: called before the op, the function it returns at reply time (a directory's attributes need its dir token from before the stat). */
  attrSince?: (node: PathNode) => (st: VopStat) => number;
  entry?: EntryTimeoutOf;
}

/**
 * The agent's ops on the low-level session: every kernel request becomes a
 * vop run through `compose([journal, coherency, rangeLock], backing)`, as
 * with fuse-native. Attribute timeouts come from `timeouts.attr`
 * (kernel-attr-cache.ts: non-zero only under attr tokens), entry timeouts
 * from `timeouts.entry` (kernel-entry-cache.ts: only under the parent's dir
 * token); O_RDONLY opens may use the kernel's page cache (`pages`:
 * kernel-page-cache.ts), every other open is direct_io. A node another
 * host moved is found again by its file handle (`moved`: moved-nodes.ts)
 * for lookups, getattr and the ops that make entries in a directory.
 */
export function vopLowLevelOps(
  run: VopRunner, vops: VopBuilder, nodes: PathNodeTable, timeouts: ReplyTimeouts = {}, pages?: PageCachePolicy,
  moved: MovedNodes = new MovedNodes(nodes, undefined),
): LowLevelOps {
  const attrTimeout = timeouts.attr ?? (() => 0);
  const entryTimeout = timeouts.entry ?? (() => NOT_KEPT);
  const attrSince = timeouts.attrSince ?? ((n: PathNode) => (st: VopStat) => attrTimeout(n, st));
  const dirs = new Map<number, { path: string; entries: VopDirEntry[] | null }>();
  let nextDir = 1;
  const node = (id: number): PathNode => {
    const n = nodes.get(id);
    if (!n) throw errno('ESTALE');
    return n;
  };
  const entries = new EntryLookup(run, vops, nodes, attrTimeout, entryTimeout, moved);
  const entryOf = (n: PathNode, st: VopStat, entryTimeoutNow: () => number) => entries.entryOf(n, st, entryTimeoutNow);
  const lookupEntry = async (parent: number, name: string, since?: () => number) => entries.lookup(node(parent), name, since);
  const child = (parent: number, name: string) => nodes.childPath(node(parent), name);
  const known = new NodeVops(run, vops, moved);
  const dirEntries = new DirEntryVops(run, vops, nodes, moved);

  /** mknod, mkdir, symlink (DirEntryVops.make), then the lookup of the name. */
  async function makeEntry<N extends 'mknod' | 'mkdir' | 'symlink'>(parent: number, name: string, op: N, args: VopArgs[N]): Promise<AddonEntry> {
    const dir = node(parent);
    const since = entryTimeout(dir);
    await dirEntries.make(dir, name, op, args);
    return lookupEntry(parent, name, since);
  }

  /** The file's size and last byte through handle `fh` and a cached read handle (KernelPageCache.storeTail). */
  const tailOf = (nd: PathNode, fh: number): FileTailReader => async (readFh) => {
    const st = await run(vops.onHandle('getattr', nd.path, fh, { fh }));
    if (st.size <= 0) return undefined;
    const last = Buffer.alloc(1);
    const n = await run(vops.onHandle('read', nd.path, readFh, { fh: readFh, buffer: last, length: 1, offset: st.size - 1 }));
    return n === 1 ? { size: st.size, last } : undefined;
  };

  return {
    lookup: (_c, parent, name) => lookupEntry(parent, name),
    forget: (id, n) => nodes.forget(id, n),
    async getattr(_c, id, fh) {
      const n = node(id);
      const timeoutOf = attrSince(n);
      // Without the kernel's handle (a permission check, stat by path), one of this mount's open handles of the
      // inode still beats its path: another host may have renamed the file since (an O_EXCL create racing a
      // rename elsewhere got ENOENT from the path, found by chaos's namespace check).
      const handle = fh ?? vops.openHandleOf(n.ino);
      const attr = handle !== undefined ? await run(vops.onHandle('getattr', n.path, handle, { fh: handle })) : await known.getattr(n);
      return { attr, attrTimeout: timeoutOf(attr) };
    },
    async setattr(_c, id, changes, fh) {
      const timeoutOf = attrSince(node(id));
      const attr = await known.setattr(node(id), changes, fh);
      return { attr, attrTimeout: timeoutOf(attr) };
    },
    readlink: async (_c, id) => known.on(node(id), 'readlink', {}),
    mknod: async (ctx, parent, name, mode, dev) => makeEntry(parent, name, 'mknod', { mode, dev, owner: ownerOf(ctx) }),
    mkdir: async (ctx, parent, name, mode) => makeEntry(parent, name, 'mkdir', { mode, owner: ownerOf(ctx) }),
    unlink: async (_c, parent, name) => dirEntries.remove(node(parent), name, 'unlink'),
    rmdir: async (_c, parent, name) => dirEntries.remove(node(parent), name, 'rmdir'),
    symlink: async (ctx, parent, name, target) => makeEntry(parent, name, 'symlink', { target, owner: ownerOf(ctx) }),
    async rename(_c, parent, name, newParent, newName, flags) {
      if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) !== 0 || flags === (RENAME_NOREPLACE | RENAME_EXCHANGE)) throw errno('EINVAL');
      await dirEntries.rename(node(parent), name, node(newParent), newName, flags);
    },
    async link(_c, id, newParent, newName) {
      const since = entryTimeout(node(newParent));
      await dirEntries.link(node(id), node(newParent), newName);
      return lookupEntry(newParent, newName, since);
    },
    async open(_c, id, flags) {
      const n = node(id);
      // O_TRUNC arrives with the open (atomic_o_trunc): a truncate vop first, so hooks journal and fence it.
      if (flags & O_TRUNC && (flags & 3) !== 0) await known.on(n, 'truncate', { size: 0 });
      // The store checks the inode it opened is the node's (another host may have moved it: then where its handle
      // says it is now); without a handle, as before: the handle takes the inode it opened.
      const openArgs = { flags: flags & ~O_TRUNC };
      const r = await known.on(n, 'open', openArgs, (path) => vops.onKnownPath('open', path, n.ino, openArgs));
      return { fh: r.fh, ...(pages?.opened(n, flags, r.fh) ?? { directIo: true }) };
    },
    async create(ctx, parent, name, mode, flags) {
      const dir = node(parent);
      let path = child(parent, name);
      const since = entryTimeout(dir);
      const args = { mode, flags: flags & ~O_TRUNC, owner: ownerOf(ctx) };
      // Under the directory node's dir token, the store checks the parent path still leads to it (no lookup first);
      // if it leads elsewhere now (another host moved it), nothing was created: again where the directory's handle
      // says it is now, else (no handle) as before, a lookup then the create.
      let sure = true;
      let r: VopResults['create'];
      try {
        r = await moved.onPath(dir, (dirPath) => run(vops.onKnownEntry('create', path = inDir(dirPath, name), dir.ino, args)));
      } catch (e) {
        if (fuseErrnoOf(e).name !== 'ESTALE') throw e;
        const vop = await vops.onEntry('create', path, args, false);
        sure = vop.parentIno === node(parent).ino; // else the path went elsewhere: never kept (EntryLookup.lookup)
        r = await run(vop);
      }
      // Another host made the name since our negative lookup: open(O_CREAT|O_TRUNC) truncates it, journaled as a truncate.
      if (r.existed && flags & O_TRUNC) {
        try {
          await run(vops.onHandle('truncate', path, r.fh, { size: 0, fh: r.fh }));
          r.stat = { ...r.stat, size: 0, blocks: 0 };
        } catch (e) {
          await run(vops.onHandle('release', path, r.fh, { fh: r.fh })).catch(() => undefined);
          throw e;
        }
      }
      const made = nodes.ref(r.stat.ino, path);
      moved.takeOfFd(made, vops.backingFdOf(r.fh));
      return { entry: entryOf(made, r.stat, sure ? since : NOT_KEPT), open: { fh: r.fh, directIo: true } };
    },
    async read(_c, id, fh, size, offset) {
      const buffer = Buffer.allocUnsafe(size);
      const nd = node(id);
      const ticket = pages?.readStarting(nd);
      try {
        const n = await run(vops.onHandle('read', nd.path, fh, { fh, buffer, length: size, offset }));
        return buffer.subarray(0, n);
      } finally {
        pages?.readAnswered(nd, ticket);
      }
    },
    async write(_c, id, fh, data, offset) {
      const nd = node(id);
      pages?.writeStarting(nd);
      try {
        return await run(vops.onHandle('write', nd.path, fh, { fh, data, offset }));
      } finally {
        // Cached opens of the file on this host must not keep the bytes this write replaced (kernel-pages.ts),
        // and the kernel learns the file's size before that drop (kernel-page-cache.ts, storeTail).
        await pages?.written(nd, offset, data.length, tailOf(nd, fh));
      }
    },
    async copyFileRange(_c, idIn, fhIn, offsetIn, out, length, flags) {
      const dst = node(out.ino);
      // The tokens are the source handle's inode's (the inode it opened), as for any op on a handle: onHandle finds it.
      const inoIn = vops.onHandle('flush', node(idIn).path, fhIn, { fh: fhIn }).ino;
      if (inoIn === undefined) throw errno('EBADF');
      pages?.writeStarting(dst);
      try {
        const args = { fhIn, inoIn, offsetIn, fh: out.fh, offset: out.offset, length, flags };
        return (await run(vops.onHandle('copyFileRange', dst.path, out.fh, args))).copied;
      } finally {
        // As after a WRITE: this host's cached opens of the destination lose the copied range's pages.
        await pages?.written(dst, out.offset, Math.min(length, COPY_CHUNK_BYTES), tailOf(dst, out.fh));
      }
    },
    flush: async (_c, id, fh) => { await run(vops.onHandle('flush', node(id).path, fh, { fh })); },
    release: async (_c, id, fh) => {
      pages?.released(fh);
      await run(vops.onHandle('release', nodes.get(id)?.path ?? '/', fh, { fh }));
    },
    fallocate: async (_c, id, fh, mode, offset, length) => { await run(vops.onHandle('fallocate', node(id).path, fh, { fh, mode, offset, length })); },
    lseek: async (_c, id, fh, offset, whence) => (await run(vops.onHandle('lseek', node(id).path, fh, { fh, offset, whence }))) as number,
    fsync: async (_c, id, fh, datasync) => { await run(vops.onHandle('fsync', node(id).path, fh, { fh, datasync })); },
    async opendir(_c, id) {
      const fh = nextDir++;
      dirs.set(fh, { path: node(id).path, entries: null });
      return { fh };
    },
    async readdirplus(_c, id, fh, size, offset) {
      const d = dirs.get(fh);
      if (!d) throw errno('EBADF');
      if (offset === 0 || !d.entries) d.entries = await known.on(node(id), 'readdir', {});
      const out: AddonDirEntry[] = [];
      let bytes = 0;
      for (let i = offset; i < d.entries.length; i++) {
        const e = d.entries[i];
        bytes += 152 + ((Buffer.byteLength(e.name) + 7) & ~7);
        if (bytes > size) break;
        if (!e.stat) continue;
        const dot = e.name === '.' || e.name === '..';
        const ino = dot ? 0 : nodes.ref(e.stat.ino, nodes.childPath(node(id), e.name)).id;
        // These attributes come from the directory listing, not from under the entry's attr token
        // (nor with this host's unflushed size): the kernel takes them but never keeps them.
        out.push({ name: e.name, off: i + 1, ino, generation: 1, attr: e.stat, attrTimeout: 0, entryTimeout: 0 });
      }
      return { entries: out, sent: (count) => { for (const e of out.slice(count)) if (e.ino !== 0) nodes.forget(e.ino, 1); } };
    },
    releasedir: async (_c, _id, fh) => { dirs.delete(fh); },
    fsyncdir: async (_c, id, fh, datasync) => { await run(await vops.onPath('fsyncdir', node(id).path, { fh, datasync })); },
    statfs: async (_c, id) => {
      const s = await run(await vops.onPath('statfs', node(id).path, {}));
      return { ...s };
    },
    setxattr: async (_c, id, name, value, flags) => { await known.on(node(id), 'setxattr', { name, value, flags }); },
    getxattr: async (_c, id, name) => known.on(node(id), 'getxattr', { name }),
    async listxattr(_c, id) {
      const names = await known.on(node(id), 'listxattr', {});
      return Buffer.from(names.map((n) => `${n}\0`).join(''));
    },
    removexattr: async (_c, id, name) => { await known.on(node(id), 'removexattr', { name }); },
    access: async (_c, id, mask) => { await run(await vops.onPath('access', node(id).path, { mode: mask })); },
  };
}
