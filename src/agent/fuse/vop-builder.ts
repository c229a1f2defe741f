import { BackingStore } from '../backing/backing-store';
import { VopArgs, VopName, VopOf } from '../vop';

/**
 * Makes vops for the FUSE layer and fills in the resources they act on, so
 * hooks (coherency) know them before the op runs: `ino` by lstat of the
 * path, or from the open handle; `parentIno` for ops that change a
 * directory's entries. These are looked up without any token held: a hook
 * that needs them exact under concurrent renames must re-check once it
 * holds its tokens.
 */
export class VopBuilder {
  constructor(private readonly backing: BackingStore, readonly signal: AbortSignal) {}

  /** An op on an existing path: ino = the path's inode (undefined if missing). */
  async onPath<N extends VopName>(op: N, path: string, args: VopArgs[N]): Promise<VopOf<N>> {
    const ino = await this.backing.lookupIno(path);
    return { op, path, ino, args, signal: this.signal };
  }

  /**
   * A getattr of a path. A path that does not resolve (a negative lookup:
   * the kernel asks before every create) fails here with the error the
   * backing store's getattr would give, from the lstat just made, instead of
   * running the chain to repeat it. No token is involved either way: a
   * missing path has no inode to hold one on.
   */
  async getattrOnPath(path: string): Promise<VopOf<'getattr'>> {
    const found = await this.backing.lookup(path);
    if ('error' in found) throw found.error;
    return { op: 'getattr', path, ino: found.ino, args: { seen: found.stat }, signal: this.signal };
  }

  /**
   * getattrOnPath() of a name in directory inode `dirIno`, and whether the
   * directory's path still leads to it (asked only when `dirIno` is given),
   * found by the same round trip: `vop` to run, or the lookup's `error`.
   */
  async getattrInDir(path: string, dirIno: number | undefined): Promise<{ vop?: VopOf<'getattr'>; error?: Error; parentLeads: boolean }> {
    const found = await this.backing.lookupIn(path, dirIno);
    if ('error' in found) return { error: found.error, parentLeads: found.parentLeads };
    return { vop: { op: 'getattr', path, ino: found.ino, args: { seen: found.stat }, signal: this.signal }, parentLeads: found.parentLeads };
  }

  /**
   * A getattr of a node whose inode the caller knows: the chain takes that
   * inode's tokens first and the store stats the path once, under them,
   * answering ESTALE if the path names another inode by then (the caller
   * falls back to getattrOnPath). Saves the lstat that finds the inode.
   */
  getattrOfKnown(path: string, ino: number): VopOf<'getattr'> {
    return { op: 'getattr', path, ino, args: { expectIno: ino }, signal: this.signal };
  }

  /** An open handle of backing inode `ino`, if this mount has one. */
  openHandleOf(ino: number): number | undefined {
    return this.backing.handles.anyOf(ino);
  }

  /** The inode `path` leads to now (undefined if none). */
  inoOf(path: string): Promise<number | undefined> {
    return this.backing.lookupIno(path);
  }

  /** An op that adds or removes the entry `path`: parentIno = its directory; ino if `withIno`. */
  async onEntry<N extends VopName>(op: N, path: string, args: VopArgs[N], withIno: boolean): Promise<VopOf<N>> {
    const [parentIno, ino] = await Promise.all([
      this.backing.lookupIno(this.backing.paths.parentOf(path)),
      withIno ? this.backing.lookupIno(path) : Promise.resolve(undefined),
    ]);
    return { op, path, ino, parentIno, args, signal: this.signal };
  }

  /**
   * An op that adds the entry `path` to a directory the caller knows by
   * inode (no lookup): the store checks, under the directory's token, that
   * the parent path still leads there (`expectParentIno`, create only).
   */
  onKnownEntry(path: string, parentIno: number, args: VopArgs['create']): VopOf<'create'> {
    return { op: 'create', path, ino: undefined, parentIno, args: { ...args, expectParentIno: parentIno }, signal: this.signal };
  }

  /** An op on a path whose inode the caller already knows (a hint: hooks that need it exact hold tokens and re-check). */
  onKnownPath<N extends VopName>(op: N, path: string, ino: number, args: VopArgs[N]): VopOf<N> {
    return { op, path, ino, args, signal: this.signal };
  }

  /** An op on an open handle: ino from the handle table, no lookup. */
  onHandle<N extends VopName>(op: N, path: string, fh: number, args: VopArgs[N]): VopOf<N> {
    return { op, path, ino: this.backing.handles.inoOf(fh), args, signal: this.signal };
  }
}
