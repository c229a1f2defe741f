import { fuseErrnoOf } from '../fuse-errno';
import type { Located, NodeLocator } from './node-locator';
import type { PathNode, PathNodeTable } from './path-node-table';

/** Re-runs after a relocation at most this often (another host may keep moving the node meanwhile). */
const MAX_RELOCATIONS = 3;

const enoent = () => Object.assign(new Error('ENOENT'), { code: 'ENOENT' });

/**
 * Ops on a node another host may have moved. The vops are path-based and a
 * node's path is where this mount last saw it; an op that checks under its
 * tokens that the path still leads to the node's inode (`expectIno`,
 * `expectParentIno`: ESTALE, or ENOENT when the path leads nowhere) and
 * fails is run again on the path the node's file handle gives now
 * (NodeLocator), and the node table learns it. The re-run makes the same
 * check under its own tokens, so nothing is done on a path that was not
 * checked to lead to the node's inode under the tokens held.
 *
 * Without a handle (no CAP_DAC_READ_SEARCH, a filesystem without handles, a
 * node made by readdirplus and not looked up since) the first error stands,
 * and the caller falls back to the path as before.
 */
export class MovedNodes {
  constructor(private readonly nodes: PathNodeTable, private readonly locator: NodeLocator | undefined) {}

  /** Whether `n` should get a handle (it has none, and handles are on). */
  wantsHandle(n: PathNode | undefined): boolean {
    return this.locator?.enabled === true && (n === undefined || n.handle === undefined);
  }

  /** The handle of the inode at `path` (taken on libuv's pool), for a node that wantsHandle. */
  takeAt(path: string): Promise<Buffer | undefined> {
    return this.locator?.takeAt(path) ?? Promise.resolve(undefined);
  }

  /** Gives `n` the handle of an open backing descriptor of its inode, if it has none. */
  takeOfFd(n: PathNode, fd: number): void {
    if (this.wantsHandle(n)) n.handle = this.locator?.takeOfFd(fd);
  }

  /**
   * `attempt(path)` on `n`'s path; on ESTALE or ENOENT, again on the path
   * its handle gives now. If the handle says it is gone: ENOENT when `n` is
   * a directory the op makes, removes or looks up entries in (a removed
   * directory has none; `gone: 'ENOENT'`), else the first error, so the
   * caller takes the old way (`gone: 'first-error'`: an op on a file whose
   * name another host replaced, e.g. by rename(tmp, name), may be racing
   * the replace, and the name never stopped existing: not ENOENT).
   */
  async onPath<T>(n: PathNode, attempt: (path: string) => Promise<T>, gone: 'ENOENT' | 'first-error' = 'ENOENT'): Promise<T> {
    for (let relocations = 0; ; relocations++) {
      const path = n.path;
      try {
        return await attempt(path);
      } catch (e) {
        const name = fuseErrnoOf(e).name;
        if ((name !== 'ESTALE' && name !== 'ENOENT') || relocations >= MAX_RELOCATIONS) throw e;
        if (n.path !== path) continue; // another request relocated it meanwhile
        const at = await this.relocate(n);
        if (at === 'gone') throw gone === 'ENOENT' ? enoent() : e;
        if (at !== 'moved') throw e;
      }
    }
  }

  /** Asks `n`'s handle where its inode is now: moved there (the table learns it), still at its path, or gone. */
  async relocate(n: PathNode): Promise<'moved' | 'same' | 'gone' | undefined> {
    if (n.id === 1) return 'same';
    const path = n.path;
    const at: Located = await this.locator?.locate(n.handle);
    if (at === undefined || at === 'gone') return at;
    if (n.path !== path) return 'moved'; // relocated by another request meanwhile
    if (at.path === path) return 'same';
    this.nodes.relocated(n, at.path);
    return 'moved';
  }
}
