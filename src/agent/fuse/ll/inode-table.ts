import { close } from 'fs';
import { CountedNode, LookupCounts } from './lookup-counts';

/** One backing inode the kernel knows: an O_PATH fd, so renames elsewhere never change what it means. */
export interface Inode extends CountedNode {
  /** O_PATH|O_NOFOLLOW fd on the backing file. */
  readonly fd: number;
  readonly key: string;
}

/**
 * Node ids ↔ backing inodes (st_dev, st_ino), with the kernel's lookup
 * counts (LookupCounts); when a node is forgotten its fd is closed.
 */
export class InodeTable {
  private readonly nodes: LookupCounts<Inode>;
  private readonly byKey = new Map<string, Inode>();

  constructor(rootFd: number, rootKey: string) {
    const root: Inode = { id: 1, fd: rootFd, key: rootKey, nlookup: 1 };
    this.nodes = new LookupCounts(root);
    this.byKey.set(rootKey, root);
  }

  get size(): number {
    return this.nodes.size;
  }

  /** The inode for a node id the kernel sent, or undefined (stale or bad id). */
  get(id: number): Inode | undefined {
    return this.nodes.get(id);
  }

  /** The node id the kernel knows for backing inode `key` ("dev:ino"), if any. */
  idOfKey(key: string): number | undefined {
    return this.byKey.get(key)?.id;
  }

  /**
   * Adds a lookup reference for the backing inode `key`, taking ownership
   * of `fd` (closed if the inode is already known).
   */
  ref(key: string, fd: number): Inode {
    const known = this.byKey.get(key);
    if (known) {
      close(fd, () => undefined);
      known.nlookup++;
      return known;
    }
    const node = this.nodes.add((id) => ({ id, fd, key, nlookup: 1 }));
    this.byKey.set(key, node);
    return node;
  }

  /** Drops n references; at zero the fd is closed. Unknown ids and the root are ignored. */
  forget(id: number, n: number): void {
    const node = this.nodes.forget(id, n);
    if (!node) return;
    this.byKey.delete(node.key);
    close(node.fd, () => undefined);
  }

  /** Closes every fd (after unmount). */
  clear(): void {
    for (const node of this.nodes.values()) close(node.fd, () => undefined);
    this.nodes.clear();
    this.byKey.clear();
  }
}
