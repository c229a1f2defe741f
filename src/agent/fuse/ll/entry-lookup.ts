import { fuseErrnoOf } from '../fuse-errno';
import type { VopBuilder } from '../vop-builder';
import type { VopRunner, VopStat } from '../../vop';
import type { AddonEntry } from './fuse-addon';
import type { PathNode, PathNodeTable } from './path-node-table';

/** The attribute timeout (seconds) of a reply about a node; 0 = the kernel asks again every time. */
export type AttrTimeoutOf = (node: PathNode, st: VopStat) => number;
/**
 * Called before a lookup or create in directory `parent`: returns the
 * reply's entry timeout (seconds) when called at reply time, or NOT_KEPT
 * when it is known at once that nothing will be kept.
 */
export type EntryTimeoutOf = (parent: PathNode) => () => number;
/** An entry timeout of 0 known before the op (no dir token, or no kernel epoch): no check of the parent's path is needed. */
export const NOT_KEPT = (): number => 0;

/** Entry replies of the agent mount: the lookup of a name, and the node and timeouts a reply carries. */
export class EntryLookup {
  constructor(
    private readonly run: VopRunner,
    private readonly vops: VopBuilder,
    private readonly nodes: PathNodeTable,
    private readonly attrTimeout: AttrTimeoutOf,
    private readonly entryTimeout: EntryTimeoutOf,
  ) {}

  entryOf(n: PathNode, st: VopStat, entryTimeoutNow: () => number): AddonEntry {
    return { ino: n.id, generation: 1, attr: st, attrTimeout: this.attrTimeout(n, st), entryTimeout: entryTimeoutNow() };
  }

  /**
   * The entry `name` of directory `dir` (its path from the directory's
   * current one); `since`: from entryTimeout, taken before the op that made
   * it. A name that does not exist is kept as a negative entry on the same
   * terms, so the create after it, or the next lookup, asks nobody.
   */
  async lookup(dir: PathNode, name: string, since?: () => number): Promise<AddonEntry> {
    const timeoutNow = since ?? this.entryTimeout(dir);
    const path = this.nodes.childPath(dir, name);
    // Kept only if `dir`'s path still leads to its inode. Paths are what this mount last saw; another host may have
    // renamed a directory above it, and a name found through a stale path belongs to another directory: such a reply
    // is given, as before, but never kept. Checked by the lookup's own round trip (BackingPaths.lstatIn).
    const wanted = timeoutNow !== NOT_KEPT;
    const found = await this.vops.getattrInDir(path, wanted && dir.id !== 1 ? dir.ino : undefined);
    const sure = wanted && (dir.id === 1 || found.parentLeads);
    let st: VopStat;
    try {
      if (found.error !== undefined || found.vop === undefined) throw found.error;
      st = await this.run(found.vop);
    } catch (e) {
      const t = fuseErrnoOf(e).name === 'ENOENT' && sure ? timeoutNow() : 0;
      if (t > 0) return { ino: 0, generation: 0, attrTimeout: 0, entryTimeout: t };
      throw e;
    }
    const n = await this.refFound(st.ino, path);
    return this.entryOf(n, st, sure ? timeoutNow : NOT_KEPT);
  }

  /**
   * A reference for the inode a lookup found at `path`. If its node has
   * another path that no longer leads to it, another host moved it: a new
   * node (PathNodeTable.refMoved), or the kernel, still holding the old
   * name, would take a rename between the two names for one between hard
   * links and succeed without asking (found by chaos's namespace check).
   */
  private async refFound(ino: number, path: string): Promise<PathNode> {
    const known = this.nodes.byBackingIno(ino);
    if (known === undefined || known.id === 1 || known.path === path) return this.nodes.ref(ino, path);
    // Both names lead to the inode: hard links, and the node remembers the other one (PathNodeTable.unlinked).
    return (await this.vops.inoOf(known.path)) === ino ? this.nodes.refLinked(ino, path) : this.nodes.refMoved(ino, path);
  }
}
