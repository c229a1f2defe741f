/** A node the kernel holds lookup references on. */
export interface CountedNode {
  /** FUSE node id (1 = root); never reused while the table lives. */
  readonly id: number;
  /** Lookup references the kernel holds. */
  nlookup: number;
}

/**
 * Node ids with the kernel's lookup counts (FUSE's lookup/forget protocol,
 * passthrough_ll's model): every entry answered adds one reference, forget
 * subtracts n, and at zero the node is forgotten. The root (id 1) is never
 * forgotten. Shared by the passthrough's InodeTable and the agent's
 * PathNodeTable, which index the nodes by their own keys.
 */
export class LookupCounts<N extends CountedNode> {
  private readonly byId = new Map<number, N>();
  private nextId = 2;

  constructor(root: N) {
    this.byId.set(1, root);
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: number): N | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<N> {
    return this.byId.values();
  }

  /** A new node under the next id, with one reference. */
  add(make: (id: number) => N): N {
    const node = make(this.nextId++);
    this.byId.set(node.id, node);
    return node;
  }

  /** Drops n references; returns the node if that forgot it. Unknown ids, the root and n ≤ 0 are ignored. */
  forget(id: number, n: number): N | undefined {
    const node = this.byId.get(id);
    if (!node || id === 1 || !(n > 0)) return undefined;
    node.nlookup -= Math.min(n, node.nlookup);
    if (node.nlookup > 0) return undefined;
    this.byId.delete(id);
    return node;
  }

  clear(): void {
    this.byId.clear();
  }
}
