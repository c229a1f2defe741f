import * as nodePath from 'path';
import { CountedNode, LookupCounts } from './lookup-counts';

/** A node the kernel knows, for the path-based vop chain: its current mount path and backing inode. */
export interface PathNode extends CountedNode { path: string; readonly ino: number }

/**
 * Node ids ↔ (backing ino, current path) with the kernel's lookup counts
 * (LookupCounts), for the agent's path-based vops. Renames made through
 * this mount move the paths of the node and everything below it.
 */
export class PathNodeTable {
  private readonly nodes: LookupCounts<PathNode>;
  private readonly byIno = new Map<number, PathNode>();

  constructor(rootIno: number) {
    const root: PathNode = { id: 1, path: '/', ino: rootIno, nlookup: 1 };
    this.nodes = new LookupCounts(root);
    this.byIno.set(rootIno, root);
  }

  get(id: number): PathNode | undefined {
    return this.nodes.get(id);
  }

  /** The node the kernel knows backing inode `ino` by, if any. */
  byBackingIno(ino: number): PathNode | undefined {
    return this.byIno.get(ino);
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

  forget(id: number, n: number): void {
    const node = this.nodes.forget(id, n);
    if (node && this.byIno.get(node.ino) === node) this.byIno.delete(node.ino);
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
