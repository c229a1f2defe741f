import * as nodePath from 'path';
import { CountedNode, LookupCounts } from './lookup-counts';

/** A node the kernel knows, for the path-based vop chain: its current mount path and backing inode. */
export interface PathNode extends CountedNode { path: string; readonly ino: number }

/**
 * Node ids ↔ (backing ino, current path) with the kernel's lookup counts
 * (LookupCounts), for the agent's path-based vops. Renames made through
 * this mount move the paths of the node and everything below it.
 *
 * A backing inode usually has one node. It gets a second one when another
 * host moved it (`refMoved`): the kernel may still hold the old name's
 * dentry, and a second inode keeps it from taking the two names for hard
 * links of one file (a rename between them would succeed without asking
 * anybody). Invalidations go to every node of the inode (`nodesOf`).
 */
export class PathNodeTable {
  private readonly nodes: LookupCounts<PathNode>;
  /** Backing ino → its newest node. */
  private readonly byIno = new Map<number, PathNode>();
  /** Backing ino → its older nodes the kernel has not forgotten yet (rare: see refMoved). */
  private readonly older = new Map<number, Set<PathNode>>();

  constructor(rootIno: number) {
    const root: PathNode = { id: 1, path: '/', ino: rootIno, nlookup: 1 };
    this.nodes = new LookupCounts(root);
    this.byIno.set(rootIno, root);
  }

  get(id: number): PathNode | undefined {
    return this.nodes.get(id);
  }

  /** The node the kernel knows backing inode `ino` by, if any (the newest one). */
  byBackingIno(ino: number): PathNode | undefined {
    return this.byIno.get(ino);
  }

  /** Every node of backing inode `ino` the kernel has not forgotten. */
  nodesOf(ino: number): PathNode[] {
    const newest = this.byIno.get(ino);
    const older = this.older.get(ino);
    return newest === undefined ? [] : older === undefined ? [newest] : [newest, ...older];
  }

  childPath(parent: PathNode, name: string): string {
    return parent.path === '/' ? `/${name}` : `${parent.path}/${name}`;
  }

  /** One more reference for backing inode `ino`, now reached at `path`. */
  ref(ino: number, path: string): PathNode {
    const node = this.byIno.get(ino);
    if (node) {
      node.nlookup++;
      if (node.id !== 1) node.path = path;
      return node;
    }
    const created = this.nodes.add((id) => ({ id, path, ino, nlookup: 1 }));
    this.byIno.set(ino, created);
    return created;
  }

  /**
   * One reference for backing inode `ino`, found at `path` after another
   * host moved it away from the path its node had: a new node, so the
   * kernel's dentry of the old name (if it still has one) means another
   * inode than the new name's.
   */
  refMoved(ino: number, path: string): PathNode {
    const previous = this.byIno.get(ino);
    const created = this.nodes.add((id) => ({ id, path, ino, nlookup: 1 }));
    this.byIno.set(ino, created);
    if (previous) {
      const older = this.older.get(ino) ?? new Set<PathNode>();
      older.add(previous);
      this.older.set(ino, older);
    }
    return created;
  }

  forget(id: number, n: number): void {
    const node = this.nodes.forget(id, n);
    if (!node) return;
    const older = this.older.get(node.ino);
    older?.delete(node);
    if (this.byIno.get(node.ino) === node) {
      // The newest node is gone: an older one the kernel still knows becomes what invalidations and lookups find.
      const promoted = older?.values().next().value;
      if (promoted === undefined) this.byIno.delete(node.ino);
      else {
        older!.delete(promoted);
        this.byIno.set(node.ino, promoted);
      }
    }
    if (older?.size === 0) this.older.delete(node.ino);
  }

  /** After a rename from → to through this mount: every path at or below `from` moves. */
  moved(from: string, to: string): void {
    for (const node of this.nodes.values()) node.path = movedPath(node.path, from, to) ?? node.path;
  }

  /** After RENAME_EXCHANGE of a and b (neither contains the other): the two subtrees swap names. */
  exchanged(a: string, b: string): void {
    for (const node of this.nodes.values()) node.path = movedPath(node.path, a, b) ?? movedPath(node.path, b, a) ?? node.path;
  }
}

/** `path` with its prefix `from` replaced by `to`, or undefined if it is not at or below `from`. */
function movedPath(path: string, from: string, to: string): string | undefined {
  if (path === from) return to;
  if (path.startsWith(from + '/')) return nodePath.posix.join(to, path.slice(from.length + 1));
  return undefined;
}
