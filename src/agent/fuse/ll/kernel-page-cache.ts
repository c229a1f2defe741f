import { constants } from 'os';
import type { Logger } from '../../../common/logger';
import type { KernelCacheLink } from '../../coherency/kernel-cache';
import type { NodeFence } from '../fence/cache-fence';
import type { ReadTicket } from '../../coherency/local-writes';
import type { PathNode, PathNodeTable } from './path-node-table';
import type { DropMarks } from './drop-marks';
import type { AttrReplyGuard, FileTailReader, LastByteReader, OpenCaching, PageCachePolicy, PageNotifier } from './page-cache-policy';

export type { AttrReplyGuard, FileTailReader, LastByteReader, OpenCaching, PageCachePolicy, PageNotifier } from './page-cache-policy';

const O_ACCMODE = 3;
const O_RDONLY = 0;
const O_RDWR = 2;
const O_APPEND = 0o2000;
const PAGE_SIZE = 4096;

/** How GETATTR replies are guarded (KernelPageCache.attrRequest), and which opens are cached. */
export interface PageCacheOptions {
  /**
   * O_RDWR opens are cached too, so they can be mapped MAP_SHARED with
   * PROT_WRITE (docs/fuse.md, "Writable shared mappings"). Default false:
   * they are direct_io, and such a mapping is refused (ENODEV).
   */
  writableMappings?: boolean;
  /** Which replies a drop may make the kernel discard; none: never guarded (planted: no-size-store). */
  marks?: DropMarks;
  /**
   * Test hook (planted: slow-getattr): waited for before a GETATTR of a
   * file with a cached open is answered, after its attributes were read,
   * so that a drop lands in between.
   */
  replyDelay?: () => Promise<void>;
}

/** The offset of the page holding the byte before `size`. */
const lastPageOf = (size: number): number => Math.floor((size - 1) / PAGE_SIZE) * PAGE_SIZE;

const NO_GUARD: AttrReplyGuard = { beforeReply: () => Promise.resolve(), done: () => undefined };

/**
 * The FUSE side of the kernel page cache (docs/fuse.md, "The page cache"):
 * O_RDONLY and O_RDWR opens are answered without direct_io while the
 * coherency layer allows it (KernelCacheLink.openCached), other opens keep
 * direct_io. The kernel holds a dirty page only where a shared writable
 * mapping made one, under this host's whole-file data WRITE token
 * ("Writable shared mappings"). Page drops are notify_inval_inode of the
 * whole file on the session's notify thread; a dirty page is written back
 * (a WRITE with `writeback` set) before the drop completes.
 */
export class KernelPageCache implements PageCachePolicy {
  /** Cached open handle → the backing inode it opened, the node it was opened through, and whether it is read-write. */
  private readonly cachedHandles = new Map<number, { ino: number; node: number; writable: boolean }>();
  private notifier: PageNotifier | undefined;
  /** Lists the nodes with cached opens for the cache fence (docs/fuse.md, "The cache fence"); none: not fenced. */
  private fence: NodeFence | undefined;

  constructor(
    private readonly nodes: PathNodeTable,
    private readonly link: KernelCacheLink,
    private readonly logger: Logger,
    private readonly guards: PageCacheOptions = {},
  ) {}

  setNotifier(notifier: PageNotifier | undefined): void {
    this.notifier = notifier;
  }

  setFence(fence: NodeFence | undefined): void {
    this.fence = fence;
  }

  /**
   * With a fence, an open is cached only once the fence lists its node
   * (before the reply: a paused agent's fence must know every node whose
   * pages a mapping may read), and not when it cannot.
   */
  async opened(node: PathNode, flags: number, fh: number, signal: AbortSignal): Promise<OpenCaching> {
    const writable = this.cachesWritable(flags);
    if ((flags & O_ACCMODE) !== O_RDONLY && !writable) return { directIo: true };
    if (this.fence && !this.fence.hold(node.id)) return { directIo: true };
    const cached = this.link.openCached(node.ino, writable);
    if (!cached) {
      this.fence?.release(node.id);
      return { directIo: true };
    }
    this.cachedHandles.set(fh, { ino: node.ino, node: node.id, writable });
    if (writable && !(await this.link.holdForMapping(node.ino, signal))) {
      this.released(fh);
      return { directIo: true };
    }
    return { directIo: false, keepCache: cached.keepCache };
  }

  /**
   * O_RDWR, not O_APPEND: an append's offset is the backing file's end,
   * which the kernel's i_size need not be, so its bytes could land in the
   * kernel's pages elsewhere than in the file. O_WRONLY cannot be mapped.
   */
  private cachesWritable(flags: number): boolean {
    return this.guards.writableMappings === true && (flags & O_ACCMODE) === O_RDWR && (flags & O_APPEND) === 0;
  }

  released(fh: number): void {
    const h = this.cachedHandles.get(fh);
    if (h === undefined) return;
    this.cachedHandles.delete(fh);
    this.fence?.release(h.node);
    this.link.releasedCached(h.ino, h.writable);
  }

  cachedWrite(node: PathNode, fh: number): boolean {
    if (this.cachedHandles.get(fh)?.writable !== true) return false;
    this.link.pagesWritten(node.ino);
    return true;
  }

  /**
   * Else the drop after the write (written) would write those pages back
   * over it: on a local file system write(2) and a mapping share one page.
   */
  async beforeUncachedWrite(node: PathNode, offset: number, length: number): Promise<void> {
    if (length > 0 && this.link.mapsWritable(node.ino)) await this.pages(node.ino, offset, length);
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

  written(node: PathNode, offset: number, length: number, tail?: FileTailReader): Promise<void> {
    return this.link.written(node.ino, offset, length, tail && (() => this.storeTail(node.ino, tail)));
  }

  truncated(node: PathNode, size: number): Promise<void> {
    return this.link.truncated(node.ino, size);
  }

  /**
   * Before a write's page drop (docs/fuse.md, "The page cache"): the drop
   * bumps the inode's attr_version, and the kernel discards a GETATTR in
   * flight, so a read(2) waiting on it would keep the i_size from before
   * another host's write that extended the file. notify_store of the
   * file's last byte grows i_size with no such check, and it lands before
   * the drop. Its page then goes too: a byte read before another local
   * write may have landed in it after that write's drop. Only while a
   * cached open exists (else no read(2) is bounded by i_size and no
   * mapping can fault); its handle reads the byte.
   */
  private async storeTail(ino: number, tail: FileTailReader): Promise<void> {
    const fh = this.cachedHandleOf(ino);
    if (this.notifier === undefined || fh === undefined) return;
    const t = await tail(fh);
    if (t === undefined || t.size <= 0 || t.last.length !== 1) return;
    await this.storeLastByte(ino, t.size, t.last);
    await this.pages(ino, lastPageOf(t.size), PAGE_SIZE);
  }

  attrRequest(node: PathNode, seq: number | undefined): AttrReplyGuard {
    const { replyDelay, marks } = this.guards;
    const marked = marks && seq !== undefined ? { marks, seq } : undefined;
    if (marked === undefined && replyDelay === undefined) return NO_GUARD;
    marked?.marks.attrAnswering(marked.seq);
    return {
      beforeReply: async (size, lastByte) => {
        if (replyDelay && this.cachedHandleOf(node.ino) !== undefined) await replyDelay();
        if (marked) await this.storeSizeIfDiscarded(marked.marks, node, marked.seq, size, lastByte);
      },
      done: () => marked?.marks.attrAnswered(marked.seq),
    };
  }

  /**
   * A GETATTR reply the kernel may discard (a drop of the node may have
   * bumped its attr_version after the kernel sampled it: drop-marks.ts)
   * would leave a read(2) waiting on it with the old i_size, so before the
   * reply the kernel gets its size with notify_store of the last byte.
   * Only while a cached open exists (else no read(2) is bounded by i_size);
   * its handle reads the byte. A drop sent meanwhile may have met a READ
   * that cached newer bytes than that one: its page goes again.
   */
  private async storeSizeIfDiscarded(marks: DropMarks, node: PathNode, seq: number, size: number, lastByte: LastByteReader): Promise<void> {
    const fh = this.cachedHandleOf(node.ino);
    if (this.notifier === undefined || fh === undefined || size <= 0 || !marks.mayBeDiscarded(node.id, seq)) return;
    const sentBefore = marks.sentTo(node.id);
    const ticket = this.link.readStarting(node.ino);
    try {
      const last = await lastByte(fh, size - 1);
      if (last === undefined || last.length !== 1) return;
      await this.storeLastByte(node.ino, size, last);
      if (marks.sentTo(node.id) !== sentBefore) await this.pages(node.ino, lastPageOf(size), PAGE_SIZE);
    } finally {
      this.link.readAnswered(node.ino, ticket);
    }
  }

  private cachedHandleOf(ino: number): number | undefined {
    for (const [fh, h] of this.cachedHandles) if (h.ino === ino) return fh;
    return undefined;
  }

  /** Drops the cached pages of backing inode `ino` in [offset, offset + length), length 0: to the end (KernelInvalidator.pages). */
  async pages(ino: number, offset: number, length: number): Promise<void> {
    const notifier = this.notifier;
    if (notifier === undefined) return;
    await Promise.all(this.nodes.nodesOf(ino).map(async (node) => {
      this.warnRefused(await notifier.invalidateInode(node.id, offset, length), 'kernel page invalidation refused', node.id);
    }));
  }

  /** notify_store of the byte before `size` to every node of backing inode `ino`: the kernel's i_size grows to `size`. */
  private async storeLastByte(ino: number, size: number, last: Buffer): Promise<void> {
    const notifier = this.notifier;
    if (notifier === undefined) return;
    await Promise.all(this.nodes.nodesOf(ino).map(async (node) => {
      this.warnRefused(await notifier.storeInode(node.id, size - 1, last), 'kernel size store refused', node.id);
    }));
  }

  /** A notification's -errno other than the kernel not knowing the inode (ENOENT) or the mount being gone (ENOTCONN). */
  private warnRefused(result: number, message: string, node: number): void {
    if (result < 0 && result !== -constants.errno.ENOENT && result !== -constants.errno.ENOTCONN) this.logger.warn(message, { node, errno: -result });
  }
}
