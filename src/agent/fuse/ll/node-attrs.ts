import { constants } from 'fs';
import { fuseErrnoOf } from '../fuse-errno';
import { VopBuilder } from '../vop-builder';
import { TimeSpec, VopOf, VopRunner, VopStat } from '../../vop';
import { msOfTimeSpec, timeSpecOfMs, timeSpecOfNs } from '../../backing/backing-times';
import { runDroppingKernelCopy } from './kernel-copy-change';
import { AttrChanges } from './low-level-ops';
import type { PageCachePolicy } from './page-cache-policy';
import { PathNode, PathNodeTable } from './path-node-table';

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;

/**
 * A node's attributes through the vop chain: read by the node's path (or,
 * once that is gone, by a hard link of it the node remembers), changed by
 * path or by the kernel's handle.
 */
export class NodeAttrs {
  /** Open handles whose writes already cleared the file's set-user-ID and set-group-ID bits, or found none. */
  private readonly privsCleared = new Set<number>();

  constructor(
    private readonly run: VopRunner,
    private readonly vops: VopBuilder,
    private readonly nodes: PathNodeTable,
    /** Drops what the kernel caches of the node's attributes (after a change no reply of the kernel's carries). */
    private readonly dropKernelAttrs: (node: PathNode) => Promise<void> = async () => undefined,
    /** The kernel's page cache of the mount, if it has one: a truncate drops the pages past the new size. */
    private readonly pages?: Pick<PageCachePolicy, 'writeStarting' | 'truncated'>,
  ) {}

  /**
   * A truncate (`vop`) of `node` (undefined: the kernel knows no node of the
   * inode, so it caches nothing of it). Cached opens of the file on this
   * host lose the pages past the new size before the truncate's tokens go
   * (kernel-copy-change.ts): the kernel drops them itself only at the reply.
   */
  async truncate(node: PathNode | undefined, vop: VopOf<'truncate'>): Promise<void> {
    const { pages } = this;
    if (!pages || !node) return void (await this.run(vop));
    pages.writeStarting(node);
    await runDroppingKernelCopy(this.run, vop, () => pages.truncated(node, vop.args.size), false);
  }

  /**
   * Before a write by `uid` through handle `fh`: a writer without
   * CAP_FSETID (here: not root) clears the file's set-user-ID bit, and its
   * set-group-ID bit when group-execute is set, as the kernel does for the
   * writes it serves itself (file_remove_privs); for direct_io writes it
   * leaves that to the filesystem. Checked once per handle: a bit set again
   * while the handle is open stays (the attributes are read under the attr
   * token, usually from its cache).
   */
  async beforeWrite(uid: number, node: PathNode, fh: number): Promise<void> {
    if (uid === 0 || this.privsCleared.has(fh)) return;
    const st = await this.run(this.vops.onHandle('getattr', node.path, fh, { fh }));
    const setgidCounts = (st.mode & constants.S_IXGRP) !== 0;
    const clear = (st.mode & S_ISUID) | (setgidCounts ? st.mode & S_ISGID : 0);
    if (clear !== 0) {
      await this.run(await this.vops.onPath('chmod', node.path, { mode: st.mode & 0o7777 & ~clear }));
      await this.dropKernelAttrs(node);
    }
    this.privsCleared.add(fh);
  }

  released(fh: number): void {
    this.privsCleared.delete(fh);
  }

  /** SETATTR: each change as its vop (mode, owner, size, times), then the attributes after them. */
  async set(node: PathNode, c: AttrChanges, fh?: number): Promise<VopStat> {
    const { run, vops } = this;
    const path = node.path;
    if (c.mode !== undefined) await run(await vops.onPath('chmod', path, { mode: c.mode }));
    if (c.uid !== undefined || c.gid !== undefined) await run(await vops.onPath('chown', path, { uid: c.uid ?? -1, gid: c.gid ?? -1 }));
    if (c.size !== undefined) await this.truncate(node, fh !== undefined ? vops.onHandle('truncate', path, fh, { size: c.size, fh }) : await vops.onPath('truncate', path, { size: c.size }));
    if (c.atime !== undefined || c.mtime !== undefined) {
      const cur = await run(await vops.getattrOnPath(path));
      // UTIME_OMIT keeps the current time (to the nanosecond when the store said it), UTIME_NOW is the agent's clock.
      const spec = (t: AttrChanges['atime'], keepNs: bigint | undefined, keepMs: number): TimeSpec =>
        t === undefined ? (keepNs !== undefined ? timeSpecOfNs(keepNs) : timeSpecOfMs(keepMs)) : t === 'now' ? timeSpecOfMs(Date.now()) : { sec: t.sec, nsec: t.nsec };
      const atime = spec(c.atime, cur.atimeNs, cur.atimeMs);
      const mtime = spec(c.mtime, cur.mtimeNs, cur.mtimeMs);
      await run(await vops.onPath('utimens', path, { atimeMs: msOfTimeSpec(atime), mtimeMs: msOfTimeSpec(mtime), atime, mtime }));
    }
    return fh !== undefined ? run(vops.onHandle('getattr', path, fh, { fh })) : run(await vops.getattrOnPath(path));
  }

  /**
   * A node's attributes by its path: under the node's inode's tokens, with
   * one stat (or none, when its attributes are cached) instead of a stat to
   * find the inode and one under its tokens. If the path names another inode
   * now (another host replaced or moved it), as before: that inode's. If it
   * names nothing (another host unlinked it), a hard link of the node that
   * still leads to its inode becomes its path.
   */
  async ofNode(n: PathNode): Promise<VopStat> {
    try {
      return await this.run(this.vops.getattrOfKnown(n.path, n.ino));
    } catch (e) {
      const gone = fuseErrnoOf(e).name;
      if (gone === 'ENOENT') {
        const st = await this.ofLink(n);
        if (st) return st;
      }
      if (gone !== 'ESTALE') throw e;
    }
    return this.run(await this.vops.getattrOnPath(n.path));
  }

  /** Whether `path` names backing inode `ino` now. */
  async leadsTo(path: string, ino: number): Promise<boolean> {
    return (await this.vops.inoOf(path).catch(() => undefined)) === ino;
  }

  private async ofLink(n: PathNode): Promise<VopStat | undefined> {
    for (const link of this.nodes.linksOf(n)) {
      try {
        const st = await this.run(this.vops.getattrOfKnown(link, n.ino));
        this.nodes.promote(n, link);
        return st;
      } catch {
        this.nodes.dropLink(n, link);
      }
    }
    return undefined;
  }
}
