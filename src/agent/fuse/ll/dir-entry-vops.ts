import { fuseErrnoOf } from '../fuse-errno';
import type { VopBuilder } from '../vop-builder';
import type { VopArgs, VopRunner } from '../../vop';
import type { MovedNodes } from './moved-nodes';
import type { PathNode, PathNodeTable } from './path-node-table';

const RENAME_EXCHANGE = 2;
const inDir = (dirPath: string, name: string) => (dirPath === '/' ? `/${name}` : `${dirPath}/${name}`);
const isStale = (e: unknown) => fuseErrnoOf(e).name === 'ESTALE';

/**
 * The vops that make, link, remove or move entries of directories the kernel
 * knows by node: each runs under the directory node's dir token, and the
 * store checks under it that the parent path still leads to that inode
 * (`expectParentIno`, and `expectDestParentIno` for a rename's target
 * directory). If another host moved a directory, the vop runs again where
 * its file handle says it is now (MovedNodes); without a handle, as
 * before: the directories looked up by their paths.
 */
export class DirEntryVops {
  constructor(
    private readonly run: VopRunner,
    private readonly vops: VopBuilder,
    private readonly nodes: PathNodeTable,
    private readonly moved: MovedNodes,
  ) {}

  /** mknod, mkdir, symlink of `name` in `dir`. */
  async make<N extends 'mknod' | 'mkdir' | 'symlink'>(dir: PathNode, name: string, op: N, args: VopArgs[N]): Promise<void> {
    try {
      await this.moved.onPath(dir, (dirPath) => this.run(this.vops.onKnownEntry(op, inDir(dirPath, name), dir.ino, args)));
    } catch (e) {
      if (!isStale(e)) throw e;
      await this.run(await this.vops.onEntry(op, this.nodes.childPath(dir, name), args, false));
    }
  }

  /** unlink, rmdir of `name` in `dir`; the entry's inode is found by its path first, as before. */
  async remove(dir: PathNode, name: string, op: 'unlink' | 'rmdir'): Promise<void> {
    try {
      await this.moved.onPath(dir, async (dirPath) => {
        const path = inDir(dirPath, name);
        return this.run(this.vops.onKnownEntry(op, path, dir.ino, {}, await this.vops.inoOf(path)));
      });
    } catch (e) {
      if (!isStale(e)) throw e;
      await this.run(await this.vops.onEntry(op, this.nodes.childPath(dir, name), {}, true));
    }
  }

  /**
   * rename (flags: RENAME_NOREPLACE, RENAME_EXCHANGE, checked by the
   * caller) of `name` in `dir` to `newName` in `destDir`; the node table
   * moves (or swaps) the paths it used. The entries' inodes are found by
   * their paths first, as before.
   */
  async rename(dir: PathNode, name: string, destDir: PathNode, newName: string, flags: number): Promise<void> {
    let from = '', dest = '';
    const attempt = async (dirPath: string, destDirPath: string) => {
      from = inDir(dirPath, name);
      dest = inDir(destDirPath, newName);
      const [ino, destIno] = await Promise.all([this.vops.inoOf(from), this.vops.inoOf(dest)]);
      const args: VopArgs['rename'] = { dest, ...(flags ? { flags } : {}), destParentIno: destDir.ino, expectDestParentIno: destDir.ino };
      if (destIno !== undefined) args.destIno = destIno;
      return this.run(this.vops.onKnownEntry('rename', from, dir.ino, args, ino));
    };
    try {
      if (dir === destDir) await this.moved.onPath(dir, (p) => attempt(p, p));
      else await this.moved.onPath(dir, (p) => this.moved.onPath(destDir, (q) => attempt(p, q)));
    } catch (e) {
      if (!isStale(e)) throw e;
      [from, dest] = [this.nodes.childPath(dir, name), this.nodes.childPath(destDir, newName)];
      await this.renameByPaths(from, dest, flags);
    }
    if (flags & RENAME_EXCHANGE) this.nodes.exchanged(from, dest);
    else this.nodes.moved(from, dest);
  }

  /** link of node `n` as `newName` in `destDir`: the source checked by inode, the directory as above. */
  async link(n: PathNode, destDir: PathNode, newName: string): Promise<void> {
    try {
      await this.moved.onPath(n, (p) => this.moved.onPath(destDir, (q) => {
        const vop = this.vops.onKnownPath('link', p, n.ino, { dest: inDir(q, newName), expectIno: n.ino, expectDestParentIno: destDir.ino });
        vop.parentIno = destDir.ino;
        return this.run(vop);
      }), 'first-error'); // the source gone (replaced by a rename over its name): as before, whatever the path names
    } catch (e) {
      if (!isStale(e)) throw e;
      const dest = this.nodes.childPath(destDir, newName);
      const [vop, entry] = await Promise.all([this.vops.onPath('link', n.path, { dest }), this.vops.onEntry('link', dest, { dest }, false)]);
      vop.parentIno = entry.parentIno;
      await this.run(vop);
    }
  }

  /** The old way: both directories and entries looked up by path. */
  private async renameByPaths(from: string, dest: string, flags: number): Promise<void> {
    const [vop, destEntry] = await Promise.all([
      this.vops.onEntry('rename', from, flags ? { dest, flags } : { dest }, true),
      this.vops.onEntry('rename', dest, { dest }, true),
    ]);
    vop.args.destParentIno = destEntry.parentIno;
    if (destEntry.ino !== undefined) vop.args.destIno = destEntry.ino;
    await this.run(vop);
  }
}
