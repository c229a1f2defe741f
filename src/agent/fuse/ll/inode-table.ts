import { close } from 'fs';

/** One backing inode the kernel knows: an O_PATH fd, so renames elsewhere never change what it means. */
export interface Inode {
  /** FUSE node id (1 = root); never reused while this table lives. */
  readonly id: number;
  /** O_PATH|O_NOFOLLOW fd on the backing file. */
  readonly fd: number;
  readonly key: string;
  /** Lookup references the kernel holds. */
  nlookup: number;
}

/**
 * Node ids ↔ backing inodes (st_dev, st_ino), with the kernel's lookup
 * counts (passthrough_ll's model): lookup/create/readdirplus add one, forget
 * subtracts n, and at 0 the fd is closed and the id forgotten.
 */
export class InodeTable {
  private readonly byId = new Map<number, Inode>();
  private readonly byKey = new Map<string, Inode>();
  private nextId = 2;

  constructor(rootFd: number, rootKey: string) {
    const root: Inode = { id: 1, fd: rootFd, key: rootKey, nlookup: 1 };
    this.byId.set(1, root);
    this.byKey.set(rootKey, root);
  }

  get size(): number {
    return this.byId.size;
  }

  /** The inode for a node id the kernel sent, or undefined (stale or bad id). */
  get(id: number): Inode | undefined {
    return this.byId.get(id);
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
    const node: Inode = { id: this.nextId++, fd, key, nlookup: 1 };
    this.byId.set(node.id, node);
    this.byKey.set(key, node);
    return node;
  }

  /** Drops n references; at zero the fd is closed. Unknown ids and the root are ignored. */
  forget(id: number, n: number): void {
    const node = this.byId.get(id);
    if (!node || id === 1 || !(n > 0)) return;
    node.nlookup -= Math.min(n, node.nlookup);
    if (node.nlookup > 0) return;
    this.byId.delete(id);
    this.byKey.delete(node.key);
    close(node.fd, () => undefined);
  }

  /** Closes every fd (after unmount). */
  clear(): void {
    for (const node of this.byId.values()) close(node.fd, () => undefined);
    this.byId.clear();
    this.byKey.clear();
  }
}
