import * as nodePath from 'path';
import { CountedNode, LookupCounts } from './lookup-counts';

/**
 * A node the kernel knows, for the path-based vop chain: its current mount
 * path and backing inode, and other names this mount found leading to the
 * same inode (hard links), which take over when the path is unlinked.
 */
export interface PathNode extends CountedNode { path: string; readonly ino: number; links?: Set<string> }

/** Hard-link names remembered per node: enough for real trees, bounded for a hostile one. */
const MAX_LINKS = 16;

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
  /** Every name (path and links) of the nodes that have links (rare: hard-linked files). */
  private readonly linked = new Map<string, PathNode>();

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
      if (node.id === 1 || node.path === path) return node;
      if (node.links) {
        // A node with links reached by another name (a listing shows them all): the old path stays a link.
        this.linked.delete(node.path);
        node.links.delete(path);
        if (node.links.size < MAX_LINKS) node.links.add(node.path);
        node.path = path;
        this.index(node);
      } else node.path = path;
      return node;
    }
    const created = this.nodes.add((id) => ({ id, path, ino, nlookup: 1 }));
    this.byIno.set(ino, created);
    return created;
  }

  /**
   * One reference for backing inode `ino`, now reached at `path`, while its
   * node's previous path was just found to lead to it too: a hard link,
   * kept as one of the node's links.
   */
  refLinked(ino: number, path: string): PathNode {
    const known = this.byIno.get(ino);
    if (known && known.id !== 1 && known.path !== path && !known.links) known.links = new Set();
    return this.ref(ino, path);
  }

  /** The other names of `node` this mount knows (hard links; none usually). */
  linksOf(node: PathNode): string[] {
    return node.links ? [...node.links] : [];
  }

  /** `link`, one of node's links, leads to its inode while its path does not: it becomes the path. */
  promote(node: PathNode, link: string): void {
    if (!node.links?.delete(link)) return;
    this.linked.delete(node.path);
    node.path = link;
    this.index(node);
  }

  /** `link` no longer leads to node's inode. */
  dropLink(node: PathNode, link: string): void {
    if (!node.links?.delete(link)) return;
    this.linked.delete(link);
    this.index(node);
  }

  /**
   * `path` was unlinked through this mount. The node it was the path of,
   * if it has links, gets them as candidates: the first that `leadsTo` the
   * inode becomes its path (else the node keeps the gone path, as a node
   * without links does). A link that was unlinked is forgotten.
   */
  async unlinked(path: string, leadsTo: (path: string, ino: number) => Promise<boolean>): Promise<void> {
    const node = this.linked.get(path);
    if (node === undefined) return;
    if (node.path !== path) return this.dropLink(node, path);
    for (const link of this.linksOf(node)) {
      if (await leadsTo(link, node.ino)) return this.promote(node, link);
      this.dropLink(node, link);
    }
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
    this.unindex(node);
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
    this.renameAll((p) => movedPath(p, from, to) ?? p);
  }

  /** After RENAME_EXCHANGE of a and b (neither contains the other): the two subtrees swap names. */
  exchanged(a: string, b: string): void {
    this.renameAll((p) => movedPath(p, a, b) ?? movedPath(p, b, a) ?? p);
  }

  private renameAll(rename: (path: string) => string): void {
    for (const node of this.nodes.values()) node.path = rename(node.path);
    const linkedNodes = new Set(this.linked.values());
    this.linked.clear();
    for (const node of linkedNodes) {
      node.links = new Set([...node.links!].map(rename).filter((l) => l !== node.path));
      this.index(node);
    }
  }

  /** Indexes every name of a node with links (and unindexes one left without). */
  private index(node: PathNode): void {
    if (!node.links || node.links.size === 0) {
      node.links = undefined;
      this.unindex(node);
      return;
    }
    this.linked.set(node.path, node);
    for (const l of node.links) this.linked.set(l, node);
  }

  private unindex(node: PathNode): void {
    for (const name of [node.path, ...(node.links ?? [])]) if (this.linked.get(name) === node) this.linked.delete(name);
  }
}

/** `path` with its prefix `from` replaced by `to`, or undefined if it is not at or below `from`. */
function movedPath(path: string, from: string, to: string): string | undefined {
  if (path === from) return to;
  if (path.startsWith(from + '/')) return nodePath.posix.join(to, path.slice(from.length + 1));
  return undefined;
}
