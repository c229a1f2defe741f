import { constants } from 'os';
import type { Logger } from '../../../common/logger';
import { leaseBoundedMs, type KernelCacheLink } from '../../coherency/kernel-cache';
import type { PathNode } from './path-node-table';
import { NOT_KEPT } from './vop-low-level-ops';

/** Seconds the kernel may keep a name on its own while this host holds the directory's dir token. */
export const ENTRY_TIMEOUT_S = 1;
const ENTRY_TIMEOUT_MS = ENTRY_TIMEOUT_S * 1000;
const { ENODEV, ENOTCONN } = constants.errno;

/** Where the epoch goes (FuseSession, attached once the session exists). */
export interface EpochNotifier {
  /** 0, or -errno (-EINVAL: a kernel before 6.16). */
  incrementEpoch(): number;
}

/**
 * The entry timeouts of the agent's replies (docs/fuse.md, "Names").
 * A LOOKUP, CREATE, MKNOD, MKDIR, SYMLINK or LINK reply in directory D
 * carries ENTRY_TIMEOUT_S only while this host holds D's dir token and no
 * revoke of it runs; before that token goes, every cached name of the
 * mount is dropped at once by incrementing the connection's epoch.
 *
 * Why the epoch and not notify_inval_entry: inval_entry takes D's inode
 * lock, which a local create or lookup in D holds while its request waits
 * for D's token, which may wait for this very revoke. The epoch is an
 * atomic counter: no lock, no wait. And the kernel samples it when it
 * sends a LOOKUP, not when the reply lands, so a reply computed before the
 * increment and installed after it is invalid at its first use.
 *
 * On a kernel without the epoch (before 6.16), names are not cached
 * (timeout 0, as before): the first increment, tried on the first reply,
 * says which.
 */
export class KernelEntryCache {
  private notifier: EpochNotifier | undefined;
  private supported: boolean | undefined;

  constructor(private readonly link: KernelCacheLink, private readonly logger: Logger) {}

  setNotifier(notifier: EpochNotifier | undefined): void {
    this.notifier = notifier;
  }

  /**
   * Called before the lookup (or create) in directory `parent`; the
   * function it returns gives the reply's entry timeout (seconds). A name
   * looked up without the token may already be stale when a token arrives,
   * so only a token held from before the lookup to the reply counts.
   */
  begin(parent: PathNode): () => number {
    if (!this.epochWorks()) return NOT_KEPT;
    const hold = this.link.entriesHold(parent.ino);
    if (hold === undefined) {
      this.link.wantEntries(parent.ino);
      return NOT_KEPT;
    }
    return () => (hold.holds() ? leaseBoundedMs(this.link, ENTRY_TIMEOUT_MS) / 1000 : 0);
  }

  /** Every name the kernel caches becomes invalid (no lock taken: safe inside a revoke). */
  entries(): void {
    if (this.notifier === undefined || this.supported === false) return;
    const r = this.notifier.incrementEpoch();
    if (r !== 0 && r !== -ENODEV && r !== -ENOTCONN) { // the last two: unmounted, nothing cached
      this.logger.error('kernel name invalidation (epoch) refused', { errno: -r });
    }
  }

  private epochWorks(): boolean {
    if (this.supported !== undefined || this.notifier === undefined) return this.supported === true;
    const r = this.notifier.incrementEpoch();
    if (r === -ENOTCONN) return false; // not mounted yet: ask again at the next reply
    this.supported = r === 0;
    if (!this.supported) this.logger.info('kernel has no FUSE epoch (before 6.16): names are not cached', { errno: -r });
    return this.supported;
  }
}
