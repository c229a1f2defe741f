import type { EntriesHold } from '../../coherency/kernel-cache-link';
import type { PathNode } from './path-node-table';

/** The xattr the kernel asks for before every write through its page cache (file_remove_privs). */
export const CAPABILITY_XATTR = 'security.capability';

/** A bound on remembered nodes: forgetting one only asks the store again. */
const MAX_NODES = 4096;

/**
 * Which nodes have no `security.capability` xattr, as long as this host
 * holds the attr token it held when the store said so (docs/fuse.md,
 * "Writable shared mappings"). The kernel asks for it before every write
 * through its page cache (FUSE does not set SB_NOSEC): one GETXATTR per
 * write(2) of a cached read-write handle. Another host sets it only under
 * attr WRITE, which revokes that token; this host's own setxattr and
 * removexattr of it forget the node, and an answer the store gave while
 * one of them ran is not kept.
 */
export class CapabilityAbsence {
  private readonly absent = new Map<number, EntriesHold>();
  /** Bumped by every local set or removal of the xattr. */
  private changes = 0;

  constructor(private readonly attrHold: (node: PathNode) => EntriesHold | undefined) {}

  /** True when `node` is known to have no capability xattr now (the getxattr is answered ENODATA). */
  known(node: PathNode): boolean {
    const hold = this.absent.get(node.id);
    if (hold === undefined) return false;
    if (hold.holds()) return true;
    this.absent.delete(node.id);
    return false;
  }

  /** Taken before the store is asked: what a later `noteAbsent` records. */
  before(node: PathNode): { hold: EntriesHold | undefined; changes: number } {
    return { hold: this.attrHold(node), changes: this.changes };
  }

  /** The store said `node` has none; kept if the hold taken before it was asked still holds and nothing changed since. */
  noteAbsent(node: PathNode, before: { hold: EntriesHold | undefined; changes: number }): void {
    if (before.hold === undefined || !before.hold.holds() || before.changes !== this.changes) return;
    if (this.absent.size >= MAX_NODES) this.absent.clear();
    this.absent.set(node.id, before.hold);
  }

  /** This host sets or removes the xattr of `node` (called before and after the change). */
  forget(node: PathNode): void {
    this.changes++;
    this.absent.delete(node.id);
  }
}
