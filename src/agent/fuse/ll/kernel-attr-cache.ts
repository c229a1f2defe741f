import { constants } from 'os';
import type { Clock } from '../../../common/clock';
import type { Logger } from '../../../common/logger';
import { leaseBoundedMs, type EntriesHold, type KernelCacheLink, type KernelInvalidator } from '../../coherency/kernel-cache';
import type { VopStat } from '../../vop';
import type { PathNode, PathNodeTable } from './path-node-table';

/** Seconds the kernel may serve a file's attributes on its own while this host holds its attr token. */
export const ATTR_TIMEOUT_S = 1;
const ATTR_TIMEOUT_MS = ATTR_TIMEOUT_S * 1000;
/** How long past a reply's timeout an ENOENT is still retried (the kernel may install a reply late). */
const ENOENT_RETRY_SLACK_MS = 1000;
/** Sweep forgotten nodes once the map holds this many. */
const SWEEP_AT = 4096;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/** Where notifications go (FuseSession, attached once the session exists). */
export interface InodeNotifier {
  /** `directory`: the node is one (no open of it is cached, so no GETATTR reply of it needs a drop mark: drop-marks.ts). */
  invalidateInode(ino: number, offset: number, length: number, directory?: boolean): Promise<number>;
}

/**
 * The attribute timeouts the agent's replies carry, and their
 * invalidation (docs/fuse.md, "Kernel cache"). A reply carries
 * ATTR_TIMEOUT_S only while the coherency layer says the attributes are
 * cacheable (attr token held, no revoke running, not DIRECT; for a
 * directory also its dir token); each node that got one is remembered until it is
 * invalidated or forgotten (no "it must have expired by now": the kernel
 * starts the timeout when it installs the reply, maybe much later). Before the token goes, `attrs(ino)` invalidates them with
 * notify_inval_inode(offset -1): attributes only, no page lock, so it never
 * waits for a request; the kernel bumps the inode's attr_version, so a
 * GETATTR or LOOKUP reply already in flight is not installed afterwards.
 *
 * A reply that creates the kernel's inode (a first lookup) is not covered
 * by attr_version: if the notification arrives before the kernel made the
 * inode it answers ENOENT, and the inode is then made with the reply's
 * timeout. So while the node has references and its timeout has not run
 * out, an ENOENT is retried (the kernel is making or forgetting the inode)
 * until it succeeds, the node is forgotten, or the reply's timeout (plus a
 * second) ran out.
 */
export class KernelAttrCache implements Omit<KernelInvalidator, 'entries' | 'pages'> {
  /** Node id → when the last reply with a timeout was sent (clock ms), and whether the node is a directory. */
  private readonly cached = new Map<number, { at: number; directory: boolean }>();
  private notifier: InodeNotifier | undefined;
  private sweepAt = SWEEP_AT;

  constructor(
    private readonly nodes: PathNodeTable,
    private readonly link: KernelCacheLink,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Notifications go there from now on. */
  setNotifier(notifier: InodeNotifier | undefined): void {
    this.notifier = notifier;
  }

  /**
   * The attribute timeout of a reply about `node` with attributes `st`
   * (records it when not 0). A directory's size, times and link count
   * change with its entries: they are kept only under a dir token held from
   * before the stat (`dirHold`, see since()) to the reply.
   */
  timeoutFor(node: PathNode, st: VopStat, dirHold?: EntriesHold): number {
    const directory = (st.mode & S_IFMT) === S_IFDIR;
    if (directory && !(dirHold?.holds() ?? false)) return 0;
    if (!this.link.attrsCacheable(node.ino)) return 0;
    const ms = leaseBoundedMs(this.link, ATTR_TIMEOUT_MS);
    if (ms === 0) return 0;
    if (this.cached.size >= this.sweepAt) this.sweep();
    this.cached.set(node.id, { at: this.clock.nowMs(), directory });
    return ms / 1000;
  }

  /** Called before a GETATTR or SETATTR of `node`: its reply's timeout, given the attributes. */
  since(node: PathNode): (st: VopStat) => number {
    const dirHold = this.link.entriesHold(node.ino);
    return (st) => this.timeoutFor(node, st, dirHold);
  }

  async attrs(ino: number): Promise<void> {
    await Promise.all(this.nodes.nodesOf(ino).map((node) => this.invalidate(node.id)));
  }

  async allAttrs(): Promise<void> {
    await Promise.all([...this.cached.keys()].map((id) => this.invalidate(id)));
  }

  private async invalidate(id: number): Promise<void> {
    const entry = this.cached.get(id);
    if (entry === undefined || this.notifier === undefined) return; // never given a timeout (or no mount): nothing cached
    for (let delayMs = 1; ; delayMs = Math.min(delayMs * 2, 50)) {
      const r = await this.notifier.invalidateInode(id, -1, 0, entry.directory);
      if (r !== -constants.errno.ENOENT) {
        if (r < 0 && r !== -constants.errno.ENOTCONN) this.logger.warn('kernel attribute invalidation refused', { node: id, errno: -r });
        break;
      }
      if ((this.nodes.get(id)?.nlookup ?? 0) === 0) break;
      if (this.clock.nowMs() >= entry.at + ATTR_TIMEOUT_MS + ENOENT_RETRY_SLACK_MS) {
        this.logger.warn('kernel has no inode for a node it holds references on; giving up invalidating it', { node: id });
        break;
      }
      await new Promise<void>((resolve) => this.clock.setTimer(delayMs, resolve));
    }
    // A reply sent meanwhile made a new entry: the kernel may hold that one.
    if (this.cached.get(id) === entry) this.cached.delete(id);
  }

  /** Forgotten nodes: the kernel dropped their inodes, and the ids are never used again. */
  private sweep(): void {
    for (const id of this.cached.keys()) if (this.nodes.get(id) === undefined) this.cached.delete(id);
    this.sweepAt = Math.max(SWEEP_AT, 2 * this.cached.size);
  }
}
