import { fuseErrnoOf } from '../fuse-errno';
import type { VopBuilder } from '../vop-builder';
import type { VopArgs, VopOf, VopResults, VopRunner, VopStat } from '../../vop';
import type { AttrChanges } from './low-level-ops';
import type { MovedNodes } from './moved-nodes';
import type { PathNode } from './path-node-table';

/** The path-based vops that act on one known node and check, under its tokens, that the path still names it. */
export type NodeVopName = 'chmod' | 'chown' | 'truncate' | 'utimens' | 'readlink' | 'open' | 'readdir' | 'setxattr' | 'getxattr' | 'listxattr' | 'removexattr';

/**
 * Vops on a node the kernel knows, by its path but on its inode: the chain
 * takes the node's inode's tokens, and the store checks under them that the
 * path still names that inode (`expectIno`). If another host moved it, the
 * vop runs again where its file handle says it is now (MovedNodes). Without
 * a handle, or when its inode is gone (deleted, or replaced by a rename
 * over its name, which this op may be racing), as before: on whatever the
 * path names now.
 */
export class NodeVops {
  constructor(private readonly run: VopRunner, private readonly vops: VopBuilder, private readonly moved: MovedNodes) {}

  /**
   * A node's attributes by its path: under the node's inode's tokens, with
   * one stat (or none, when its attributes are cached) instead of a stat to
   * find the inode and one under its tokens. If the path names another inode
   * now and the node has no handle, as before: that inode's.
   */
  async getattr(n: PathNode): Promise<VopStat> {
    try {
      return await this.moved.onPath(n, (path) => this.run(this.vops.getattrOfKnown(path, n.ino)), 'first-error');
    } catch (e) {
      if (fuseErrnoOf(e).name !== 'ESTALE') throw e;
    }
    return this.run(await this.vops.getattrOnPath(n.path));
  }

  /** `op` on node `n`'s inode (`fallback`: the vop of the old way, when it differs from a plain lookup of the path). */
  async on<N extends NodeVopName>(n: PathNode, op: N, args: VopArgs[N], fallback?: (path: string) => VopOf<N>): Promise<VopResults[N]> {
    try {
      return await this.moved.onPath(n, (path) => this.run(this.vops.onKnownPath(op, path, n.ino, { ...args, expectIno: n.ino })), 'first-error');
    } catch (e) {
      if (fuseErrnoOf(e).name !== 'ESTALE') throw e;
    }
    return this.run(fallback ? fallback(n.path) : await this.vops.onPath(op, n.path, args));
  }

  /** SETATTR: each change a vop on the node (or on the kernel's handle `fh`), then the attributes after. */
  async setattr(n: PathNode, c: AttrChanges, fh?: number): Promise<VopStat> {
    const { run, vops } = this;
    if (c.mode !== undefined) await this.on(n, 'chmod', { mode: c.mode });
    if (c.uid !== undefined || c.gid !== undefined) await this.on(n, 'chown', { uid: c.uid ?? -1, gid: c.gid ?? -1 });
    if (c.size !== undefined) {
      if (fh !== undefined) await run(vops.onHandle('truncate', n.path, fh, { size: c.size, fh }));
      else await this.on(n, 'truncate', { size: c.size });
    }
    if (c.atime !== undefined || c.mtime !== undefined) {
      const cur = fh !== undefined ? await run(vops.onHandle('getattr', n.path, fh, { fh })) : await this.getattr(n);
      const ms = (t: AttrChanges['atime'], keep: number) => (t === undefined ? keep : t === 'now' ? Date.now() : t.sec * 1000 + t.nsec / 1e6);
      await this.on(n, 'utimens', { atimeMs: ms(c.atime, cur.atimeMs), mtimeMs: ms(c.mtime, cur.mtimeMs) });
    }
    return fh !== undefined ? run(vops.onHandle('getattr', n.path, fh, { fh })) : this.getattr(n);
  }
}
