import { constants } from 'os';
import { fuseErrnoOf } from '../fuse-errno';
import { VopBuilder } from '../vop-builder';
import { NewOwner, VopResults, VopRunner, VopStat } from '../../vop';
import { COPY_CHUNK_BYTES } from '../../coherency/copy-range-op';
import { DirListings } from './dir-listings';
import { FileTail } from './file-tail';
import { runDroppingKernelCopy } from './kernel-copy-change';
import { AttrTimeoutOf, EntryLookup, EntryTimeoutOf, NOT_KEPT } from './entry-lookup';
import type { PageCachePolicy } from './kernel-page-cache';
import { AttrChanges, LowLevelOps, RequestContext } from './low-level-ops';
import { NodeAttrs } from './node-attrs';
import { PathNode, PathNodeTable } from './path-node-table';
import { XattrOps } from './xattr-ops';
import type { EntriesHold } from '../../coherency/kernel-cache-link';

const E = constants.errno;
const O_TRUNC = 0o1000;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;
const errno = (code: keyof typeof E) => Object.assign(new Error(code), { code });
const isRoot = process.getuid?.() === 0;

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
  /** The attr token this host holds of a node's file, if any (capability-absence.ts). */
  attrHold?: (node: PathNode) => EntriesHold | undefined;
  /** Drops the kernel's cached attributes of a node (a change the agent makes on its own: NodeAttrs.beforeWrite). */
  dropAttrs?: (node: PathNode) => Promise<void>;
}

/**
 * The agent's ops on the low-level session: every kernel request becomes a
 * vop run through `compose([journal, coherency, rangeLock], backing)`, as
 * with fuse-native. Attribute timeouts come from `timeouts.attr`
 * (kernel-attr-cache.ts: non-zero only under attr tokens), entry timeouts
 * from `timeouts.entry` (kernel-entry-cache.ts: only under the parent's dir
 * token); O_RDONLY opens may use the kernel's page cache (`pages`:
 * kernel-page-cache.ts), every other open is direct_io.
 */
export function vopLowLevelOps(run: VopRunner, vops: VopBuilder, nodes: PathNodeTable, timeouts: ReplyTimeouts = {}, pages?: PageCachePolicy): LowLevelOps {
  const attrTimeout = timeouts.attr ?? (() => 0);
  const entryTimeout = timeouts.entry ?? (() => NOT_KEPT);
  const attrSince = timeouts.attrSince ?? ((n: PathNode) => (st: VopStat) => attrTimeout(n, st));
  const listings = new DirListings(run, vops, nodes);
  const tails = new FileTail(run, vops);
  const node = (id: number): PathNode => {
    const n = nodes.get(id);
    if (!n) throw errno('ESTALE');
    return n;
  };
  const entries = new EntryLookup(run, vops, nodes, attrTimeout, entryTimeout);
  const entryOf = (n: PathNode, st: VopStat, entryTimeoutNow: () => number) => entries.entryOf(n, st, entryTimeoutNow);
  const lookupEntry = async (parent: number, name: string, since?: () => number) => entries.lookup(node(parent), name, since);
  const child = (parent: number, name: string) => nodes.childPath(node(parent), name);

  const attrs = new NodeAttrs(run, vops, nodes, timeouts.dropAttrs, pages);
  const xattrs = new XattrOps(run, vops, timeouts.attrHold);
  const setattr = (id: number, c: AttrChanges, fh?: number) => attrs.set(node(id), c, fh);
  const getattrOfNode = (n: PathNode) => attrs.ofNode(n);
  const leadsTo = (path: string, ino: number) => attrs.leadsTo(path, ino);


  return {
    lookup: (_c, parent, name) => lookupEntry(parent, name),
    forget: (id, n) => nodes.forget(id, n),
    async getattr(c, id, fh) {
      const n = node(id);
      const timeoutOf = attrSince(n);
      const guard = pages?.attrRequest(n, c.seq);
      try {
        // Without the kernel's handle (a permission check, stat by path), one of this mount's open handles of the
        // inode still beats its path: another host may have renamed the file since (an O_EXCL create racing a
        // rename elsewhere got ENOENT from the path, found by chaos's namespace check).
        const handle = fh ?? vops.openHandleOf(n.ino);
        const attr = handle !== undefined ? await run(vops.onHandle('getattr', n.path, handle, { fh: handle })) : await getattrOfNode(n);
        // The kernel may discard this reply (a drop raced it): it gets the size another way first (kernel-page-cache.ts).
        await guard?.beforeReply(attr.size, tails.byteOf(n));
        return { attr, attrTimeout: timeoutOf(attr) };
      } finally {
        guard?.done();
      }
    },
    async setattr(_c, id, changes, fh) {
      const timeoutOf = attrSince(node(id));
      const attr = await setattr(id, changes, fh);
      return { attr, attrTimeout: timeoutOf(attr) };
    },
    readlink: async (_c, id) => run(await vops.onPath('readlink', node(id).path, {})),
    async mknod(ctx, parent, name, mode, dev) {
      const since = entryTimeout(node(parent));
      await run(await vops.onEntry('mknod', child(parent, name), { mode, dev, owner: ownerOf(ctx) }, false));
      return lookupEntry(parent, name, since);
    },
    async mkdir(ctx, parent, name, mode) {
      const since = entryTimeout(node(parent));
      await run(await vops.onEntry('mkdir', child(parent, name), { mode, owner: ownerOf(ctx) }, false));
      return lookupEntry(parent, name, since);
    },
    async unlink(_c, parent, name) {
      const path = child(parent, name);
      await run(await vops.onEntry('unlink', path, {}, true));
      await nodes.unlinked(path, leadsTo);
    },
    rmdir: async (_c, parent, name) => { await run(await vops.onEntry('rmdir', child(parent, name), {}, true)); },
    async symlink(ctx, parent, name, target) {
      const since = entryTimeout(node(parent));
      await run(await vops.onEntry('symlink', child(parent, name), { target, owner: ownerOf(ctx) }, false));
      return lookupEntry(parent, name, since);
    },
    async rename(_c, parent, name, newParent, newName, flags) {
      if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) !== 0 || flags === (RENAME_NOREPLACE | RENAME_EXCHANGE)) throw errno('EINVAL');
      const from = child(parent, name), dest = child(newParent, newName);
      const [vop, destEntry] = await Promise.all([
        vops.onEntry('rename', from, flags ? { dest, flags } : { dest }, true),
        vops.onEntry('rename', dest, { dest }, true),
      ]);
      vop.args.destParentIno = destEntry.parentIno;
      if (destEntry.ino !== undefined) vop.args.destIno = destEntry.ino;
      await run(vop);
      if (flags & RENAME_EXCHANGE) nodes.exchanged(from, dest);
      else nodes.moved(from, dest);
    },
    async link(_c, id, newParent, newName) {
      const dest = child(newParent, newName);
      const since = entryTimeout(node(newParent));
      const [vop, entry] = await Promise.all([vops.onPath('link', node(id).path, { dest }), vops.onEntry('link', dest, { dest }, false)]);
      vop.parentIno = entry.parentIno;
      await run(vop);
      return lookupEntry(newParent, newName, since);
    },
    async open(c, id, flags) {
      const n = node(id);
      // O_TRUNC arrives with the open (atomic_o_trunc): a truncate vop first, so hooks journal and fence it.
      if (flags & O_TRUNC && (flags & 3) !== 0) await attrs.truncate(n, await vops.onPath('truncate', n.path, { size: 0 }));
      // The node's inode is hint enough: the open itself resolves the path, and the handle takes the inode it opened.
      const r = await run(vops.onKnownPath('open', n.path, n.ino, { flags: flags & ~O_TRUNC }));
      return { fh: r.fh, ...(pages ? await pages.opened(n, flags, r.fh, c.signal) : { directIo: true }) };
    },
    async create(ctx, parent, name, mode, flags) {
      const path = child(parent, name);
      const dir = node(parent);
      const since = entryTimeout(dir);
      const args = { mode, flags: flags & ~O_TRUNC, owner: ownerOf(ctx) };
      // Under the directory node's dir token, the store checks the parent path still leads to it (no lookup first);
      // if it leads elsewhere now (another host moved it), nothing was created: as before, a lookup then the create.
      let sure = true;
      let r: VopResults['create'];
      try {
        r = await run(vops.onKnownEntry(path, dir.ino, args));
      } catch (e) {
        if (fuseErrnoOf(e).name !== 'ESTALE') throw e;
        const vop = await vops.onEntry('create', path, args, false);
        sure = vop.parentIno === node(parent).ino; // else the path went elsewhere: never kept (EntryLookup.lookup)
        r = await run(vop);
      }
      // Another host made the name since our negative lookup: open(O_CREAT|O_TRUNC) truncates it, journaled as a truncate.
      if (r.existed && flags & O_TRUNC) {
        try {
          await attrs.truncate(nodes.byBackingIno(r.stat.ino), vops.onHandle('truncate', path, r.fh, { size: 0, fh: r.fh }));
          r.stat = { ...r.stat, size: 0, blocks: 0 };
        } catch (e) {
          await run(vops.onHandle('release', path, r.fh, { fh: r.fh })).catch(() => undefined);
          throw e;
        }
      }
      const n = nodes.ref(r.stat.ino, path);
      const caching = pages ? await pages.opened(n, flags, r.fh, ctx.signal) : { directIo: true };
      return { entry: entryOf(n, r.stat, sure ? since : NOT_KEPT), open: { fh: r.fh, ...caching } };
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
    async write(c, id, fh, data, offset, writeback) {
      const nd = node(id);
      // The kernel's pages already hold these bytes (pages a mapping dirtied, or a cached read-write handle's
      // write(2)): no drop, which would wait for the page lock the kernel holds until this reply.
      if (writeback) return run(vops.onHandle('write', nd.path, fh, { fh, data, offset, writeback }));
      await attrs.beforeWrite(c.uid, nd, fh);
      if (pages?.cachedWrite(nd, fh)) return run(vops.onHandle('write', nd.path, fh, { fh, data, offset }));
      await pages?.beforeUncachedWrite(nd, offset, data.length);
      pages?.writeStarting(nd);
      // Cached opens of the file on this host must not keep the bytes this write replaced (kernel-pages.ts), and
      // the kernel learns the file's size before that drop (kernel-page-cache.ts, storeTail).
      const vop = vops.onHandle('write', nd.path, fh, { fh, data, offset });
      return runDroppingKernelCopy(run, vop, () => pages?.written(nd, offset, data.length, tails.afterWrite(nd, fh)) ?? Promise.resolve());
    },
    async copyFileRange(_c, idIn, fhIn, offsetIn, out, length, flags) {
      const dst = node(out.ino);
      // The tokens are the source handle's inode's (the inode it opened), as for any op on a handle: onHandle finds it.
      const inoIn = vops.onHandle('flush', node(idIn).path, fhIn, { fh: fhIn }).ino;
      if (inoIn === undefined) throw errno('EBADF');
      pages?.writeStarting(dst);
      const vop = vops.onHandle('copyFileRange', dst.path, out.fh, { fhIn, inoIn, offsetIn, fh: out.fh, offset: out.offset, length, flags });
      // As after a WRITE: this host's cached opens of the destination lose the copied range's pages.
      const dropCopied = () => pages?.written(dst, out.offset, Math.min(length, COPY_CHUNK_BYTES), tails.afterWrite(dst, out.fh)) ?? Promise.resolve();
      return (await runDroppingKernelCopy(run, vop, dropCopied)).copied;
    },
    flush: async (_c, id, fh) => { await run(vops.onHandle('flush', node(id).path, fh, { fh })); },
    release: async (_c, id, fh) => {
      pages?.released(fh);
      attrs.released(fh);
      await run(vops.onHandle('release', nodes.get(id)?.path ?? '/', fh, { fh }));
    },
    fallocate: async (_c, id, fh, mode, offset, length) => { await run(vops.onHandle('fallocate', node(id).path, fh, { fh, mode, offset, length })); },
    lseek: async (_c, id, fh, offset, whence) => (await run(vops.onHandle('lseek', node(id).path, fh, { fh, offset, whence }))) as number,
    fsync: async (_c, id, fh, datasync) => { await run(vops.onHandle('fsync', node(id).path, fh, { fh, datasync })); },
    opendir: async (_c, id) => ({ fh: listings.open(node(id)) }),
    readdirplus: async (_c, id, fh, size, offset) => listings.batch(node(id), fh, size, offset),
    releasedir: async (_c, _id, fh) => { listings.close(fh); },
    fsyncdir: async (_c, id, fh, datasync) => { await run(await vops.onPath('fsyncdir', node(id).path, { fh, datasync })); },
    statfs: async (_c, id) => {
      const s = await run(await vops.onPath('statfs', node(id).path, {}));
      return { ...s };
    },
    setxattr: (_c, id, name, value, flags) => xattrs.set(node(id), name, value, flags),
    getxattr: (_c, id, name) => xattrs.get(node(id), name),
    async listxattr(_c, id) {
      const names = await run(await vops.onPath('listxattr', node(id).path, {}));
      return Buffer.from(names.map((n) => `${n}\0`).join(''));
    },
    removexattr: (_c, id, name) => xattrs.remove(node(id), name),
    access: async (_c, id, mask) => { await run(await vops.onPath('access', node(id).path, { mode: mask })); },
  };
}
