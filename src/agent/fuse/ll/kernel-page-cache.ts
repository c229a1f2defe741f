import { constants } from 'os';
import type { Logger } from '../../../common/logger';
import type { KernelCacheLink } from '../../coherency/kernel-cache';
import type { ReadTicket } from '../../coherency/local-writes';
import type { InodeNotifier } from './kernel-attr-cache';
import type { PathNode, PathNodeTable } from './path-node-table';

const O_ACCMODE = 3;
const O_RDONLY = 0;

/** How an open is answered: direct_io, or through the kernel's page cache (keeping what it has, or not). */
export interface OpenCaching {
  directIo: boolean;
  keepCache?: boolean;
}

/** What the agent's low-level ops ask of the page cache policy (vop-low-level-ops.ts). */
export interface PageCachePolicy {
  /** An open of `node` with `flags` succeeded with handle `fh`: how to answer it. */
  opened(node: PathNode, flags: number, fh: number): OpenCaching;
  released(fh: number): void;
  readStarting(node: PathNode): ReadTicket | undefined;
  readAnswered(node: PathNode, ticket: ReadTicket | undefined): void;
  writeStarting(node: PathNode): void;
  /** A WRITE of `node` is done and not answered yet: the kernel drops the bytes it wrote. */
  written(node: PathNode, offset: number, length: number): Promise<void>;
}

/**
 * The FUSE side of the kernel page cache (docs/fuse.md, "The page cache"):
 * O_RDONLY opens are answered without direct_io while the coherency layer
 * allows it (KernelCacheLink.openCached), other opens keep direct_io, so
 * the kernel never holds a dirty page of the mount. Page drops are
 * notify_inval_inode of the whole file on the session's notify thread.
 */
export class KernelPageCache implements PageCachePolicy {
  /** Cached open handle → the backing inode it opened. */
  private readonly cachedHandles = new Map<number, number>();
  private notifier: InodeNotifier | undefined;

  constructor(
    private readonly nodes: PathNodeTable,
    private readonly link: KernelCacheLink,
    private readonly logger: Logger,
  ) {}

  setNotifier(notifier: InodeNotifier | undefined): void {
    this.notifier = notifier;
  }

  opened(node: PathNode, flags: number, fh: number): OpenCaching {
    if ((flags & O_ACCMODE) !== O_RDONLY) return { directIo: true };
    const cached = this.link.openCached(node.ino);
    if (!cached) return { directIo: true };
    this.cachedHandles.set(fh, node.ino);
    return { directIo: false, keepCache: cached.keepCache };
  }

  released(fh: number): void {
    const ino = this.cachedHandles.get(fh);
    if (ino === undefined) return;
    this.cachedHandles.delete(fh);
    this.link.releasedCached(ino);
  }

  readStarting(node: PathNode): ReadTicket | undefined {
    return this.link.readStarting(node.ino);
  }

  readAnswered(node: PathNode, ticket: ReadTicket | undefined): void {
    this.link.readAnswered(node.ino, ticket);
  }

  writeStarting(node: PathNode): void {
    this.link.writeStarting(node.ino);
  }

  written(node: PathNode, offset: number, length: number): Promise<void> {
    return this.link.written(node.ino, offset, length);
  }

  /** Drops the cached pages of backing inode `ino` in [offset, offset + length), length 0: to the end (KernelInvalidator.pages). */
  async pages(ino: number, offset: number, length: number): Promise<void> {
    const notifier = this.notifier;
    if (notifier === undefined) return;
    await Promise.all(this.nodes.nodesOf(ino).map(async (node) => {
      const r = await notifier.invalidateInode(node.id, offset, length);
      if (r < 0 && r !== -constants.errno.ENOENT && r !== -constants.errno.ENOTCONN) {
        this.logger.warn('kernel page invalidation refused', { node: node.id, errno: -r });
      }
    }));
  }
}
