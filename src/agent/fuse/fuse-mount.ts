import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { Clock, SystemClock, sleepOn } from '../../common/clock';
import { CancelledError, InvalidArgumentError } from '../../common/errors';
import { Logger } from '../../common/logger';
import { BackingStore, BackingStoreOptions } from '../backing/backing-store';
import { compose } from '../hooks/compose';
import type { KernelCacheLink } from '../coherency/kernel-cache';
import { Hook } from '../vop';
import { buildFuseOptions } from './fuse-options';
import { FuseSession } from './ll/fuse-session';
import { vopLowLevelOps } from './ll/vop-low-level-ops';
import { KernelAttrCache } from './ll/kernel-attr-cache';
import { KernelPageCache } from './ll/kernel-page-cache';
import { DropMarks } from './ll/drop-marks';
import { KernelEntryCache } from './ll/kernel-entry-cache';
import { PathNodeTable } from './ll/path-node-table';
import { ClusterLocks, RangeLockClient } from './ll/locks/cluster-locks';
import { withClusterLocks } from './ll/locks/lock-ops';
import { LowLevelOps } from './ll/low-level-ops';
import { raiseReadAhead } from './read-ahead';
import { clearStaleMount, forceUnmount } from './stale-mount';
import { VopBuilder } from './vop-builder';
import { CacheFence } from './fence/cache-fence';

export interface MountAgentFsOptions {
  /** Where the filesystem appears; created if missing; a mount left there by a crashed agent is cleared. */
  mountPoint: string;
  /** The shared backing directory; must not contain the mount point or lie inside it. */
  backingDir: string;
  /** Configured filesystem name; resources are `<namespace>/<ino>`. */
  namespace: string;
  /**
   * Outermost first; the agent main passes [journal, coherency, rangeLock].
   * A function is called at each mount with that mount's backing store
   * (the coherency hook flushes through the same file handles).
   */
  hooks: readonly Hook[] | ((backing: BackingStore) => readonly Hook[]);
  logger: Logger;
  /** Let other users in (allow_other). Default: when this process runs as root. */
  allowOther?: boolean;
  /** Limits of the backing store, and whether it serves extended attributes. */
  backing?: Pick<BackingStoreOptions, 'maxIoLength' | 'maxOpenFiles' | 'xattrs'>;
  /** Replace a mount at mountPoint whose server still answers. Default false (refuse). */
  takeOverLiveMount?: boolean;
  /**
   * The agent's session: fcntl/flock locks on the mount become coherd range
   * locks on `<namespace>/<ino>` held through it (cluster-wide). Without it
   * the kernel keeps fcntl/flock locks local to this host.
   */
  locks?: RangeLockClient;
  /**
   * The coherency layer's side of the kernel cache, asked for at each mount
   * once the hooks exist: replies carry attribute timeouts while it allows,
   * and it invalidates through this mount. Without it the kernel caches nothing.
   */
  kernelCache?: () => KernelCacheLink | undefined;
  /**
   * With kernelCache: O_RDONLY opens may also be answered through the
   * kernel's page cache (docs/fuse.md, "The page cache"), as the agent's
   * --kernel-page-cache says.
   */
  pageCache?: boolean;
  /** With pageCache: O_RDWR opens are cached too (KernelPageCache, writableMappings); default false. */
  writableMappings?: boolean;
  /**
   * With pageCache: a GETATTR reply a drop may make the kernel discard is
   * preceded by a notify_store of the file's size (drop-marks.ts). Default
   * true; false only for tests that show what it prevents (planted:
   * no-size-store).
   */
  sizeStore?: boolean;
  /** Test hook (planted: slow-getattr): ms a GETATTR of a file with a cached open waits before its reply. */
  attrReplyDelayMs?: number;
  /**
   * With pageCache: start the cache fence (docs/fuse.md, "The cache
   * fence"), which drops the kernel's pages once the lease deadline passes
   * while this agent is paused. Default true; false only for tests that
   * show what it prevents.
   */
  cacheFence?: boolean;
  /**
   * Serve copy_file_range (docs/fuse.md, "copy_file_range"). false: the op
   * answers ENOSYS, after which the kernel copies through READ and WRITE for
   * the mount's lifetime. Default true.
   */
  copyFileRange?: boolean;
  /** Times the kernel cache's retries (real time: the kernel's timeouts are). Default SystemClock. */
  clock?: Clock;
  /**
   * At every unmount, once the session's running requests are done
   * (FuseSession.unmount) and before the backing store closes: the agent
   * flushes what they wrote. Its errors are logged.
   */
  afterRequests?: () => Promise<void>;
}

/** A coherd FUSE mount. mount() and unmount() are idempotent and serialized; after unmount() it can be mounted again. */
export interface AgentFs {
  readonly mountPoint: string;
  readonly namespace: string;
  readonly mounted: boolean;
  /** The backing store while mounted (tests, diagnostics). */
  readonly backing: BackingStore | null;
  mount(): Promise<void>;
  unmount(): Promise<void>;
}

/** Creates and mounts; the caller wires unmount() to SIGINT/SIGTERM. */
export async function mountAgentFs(options: MountAgentFsOptions): Promise<AgentFs> {
  const fs = new AgentFsMount(options);
  await fs.mount();
  return fs;
}

interface Live {
  session: FuseSession;
  backing: BackingStore;
  abort: AbortController;
  kernel: KernelCacheLink | undefined;
  fence: CacheFence | undefined;
}

export class AgentFsMount implements AgentFs {
  readonly mountPoint: string;
  readonly namespace: string;
  private readonly logger: Logger;
  private live: Live | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: MountAgentFsOptions) {
    this.mountPoint = nodePath.resolve(options.mountPoint);
    this.namespace = options.namespace;
    this.logger = options.logger.child({ component: 'agent-fs', mountPoint: this.mountPoint });
    buildFuseOptions(options); // validates the namespace now
  }

  get mounted(): boolean {
    return this.live !== null;
  }

  get backing(): BackingStore | null {
    return this.live?.backing ?? null;
  }

  mount(): Promise<void> {
    return this.serialize(() => (this.live ? Promise.resolve() : this.doMount()));
  }

  unmount(): Promise<void> {
    return this.serialize(() => (this.live ? this.doUnmount(this.live) : Promise.resolve()));
  }

  private serialize(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async doMount(): Promise<void> {
    const { options, logger, mountPoint } = this;
    const backingDir = await fsp.realpath(options.backingDir);
    const mountReal = nodePath.join(await fsp.realpath(nodePath.dirname(mountPoint)), nodePath.basename(mountPoint));
    if (isWithin(mountReal, backingDir) || isWithin(backingDir, mountReal)) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', 'mount point and backing directory must not contain each other', { mountPoint, backingDir });
    }
    await clearStaleMount(mountPoint, logger, { takeOver: options.takeOverLiveMount });
    await fsp.mkdir(mountPoint, { recursive: true });

    const backing = await BackingStore.open({ dir: backingDir, logger, ...options.backing });
    const abort = new AbortController();
    const hooks = typeof options.hooks === 'function' ? options.hooks(backing) : options.hooks;
    const run = compose(hooks, backing.terminal);
    const vops = new VopBuilder(backing, abort.signal);
    const mountOptions = buildFuseOptions(options);
    let session: FuseSession;
    let fence: CacheFence | undefined;
    const kernel = options.kernelCache?.();
    try {
      const rootIno = await backing.lookupIno('/');
      if (rootIno === undefined) throw new InvalidArgumentError('INVALID_ARGUMENT', 'backing directory vanished', { backingDir });
      const nodes = new PathNodeTable(rootIno);
      const clock = options.clock ?? new SystemClock();
      const attrCache = kernel && new KernelAttrCache(nodes, kernel, clock, logger);
      const entryCache = kernel && new KernelEntryCache(kernel, logger);
      // Only the page cache needs a GETATTR's size to reach the kernel (a cached read(2) is bounded by it).
      const marks = kernel && options.pageCache === true && options.sizeStore !== false ? new DropMarks({
        mark: () => fsp.statfs(mountPoint).then(() => undefined),
        sleep: (ms) => sleepOn(clock, ms),
        logger,
      }) : undefined;
      const replyDelayMs = options.attrReplyDelayMs ?? 0;
      const pageCache = kernel && options.pageCache === true ? new KernelPageCache(nodes, kernel, logger, {
        writableMappings: options.writableMappings === true,
        marks,
        replyDelay: replyDelayMs > 0 ? () => sleepOn(clock, replyDelayMs) : undefined,
      }) : undefined;
      let ops: LowLevelOps = vopLowLevelOps(run, vops, nodes, attrCache && entryCache ? {
        attr: (n, st) => attrCache.timeoutFor(n, st),
        attrSince: (n) => attrCache.since(n),
        dropAttrs: (n) => attrCache.attrs(n.ino),
        attrHold: (n) => kernel.attrHold(n.ino),
        entry: (parent) => entryCache.begin(parent),
      } : {}, pageCache);
      if (options.copyFileRange === false) ops = { ...ops, copyFileRange: undefined };
      if (options.locks) {
        const resourceOf = (id: number) => {
          const node = nodes.get(id);
          if (!node) throw Object.assign(new Error('unknown node id'), { code: 'ESTALE' });
          return `${this.namespace}/${node.ino}`;
        };
        ops = withClusterLocks(ops, new ClusterLocks({ client: options.locks, resourceOf, logger }));
      }
      session = new FuseSession({ mountPoint, options: mountOptions, ops, logger, locks: options.locks !== undefined, drops: marks, clock: options.clock });
      if (kernel && attrCache && entryCache) {
        attrCache.setNotifier(session);
        entryCache.setNotifier(session);
        pageCache?.setNotifier(session);
        kernel.attach({
          attrs: (ino) => attrCache.attrs(ino),
          allAttrs: () => attrCache.allAttrs(),
          entries: () => entryCache.entries(),
          // Without the page cache every open is direct_io: the kernel holds no page to drop.
          pages: (ino, offset, length) => (pageCache ? pageCache.pages(ino, offset, length) : Promise.resolve()),
        });
        if (pageCache && options.cacheFence !== false) {
          const link = kernel;
          const sessionFd = session.fd();
          if (sessionFd < 0) throw new InvalidArgumentError('INVALID_ARGUMENT', 'the FUSE session has no descriptor for the cache fence', { errno: -sessionFd });
          fence = new CacheFence({ sessionFd, leaseLeftMs: () => link.leaseLeftMs(), logger });
          pageCache.setFence(fence);
        }
      }
    } catch (e) {
      await fence?.stop();
      await backing.close();
      await forceUnmount(mountPoint, logger).catch(() => undefined);
      throw e;
    }
    if (options.pageCache === true) await raiseReadAhead(mountPoint, logger);
    this.live = { session, backing, abort, kernel, fence };
    logger.info('mounted', { namespace: this.namespace, backingDir, options: mountOptions.join(',') });
  }

  private async doUnmount(live: Live): Promise<void> {
    // Before anything stops: open descriptors outlive the (lazy) unmount, and the kernel would serve them what it
    // cached after this agent's tokens went back (kernel-cache.ts, close).
    await live.kernel?.close();
    // The fence holds the connection too: it goes before the mount, never after (fence/cache-fence.ts).
    await live.fence?.stop();
    live.abort.abort(new CancelledError('CANCELLED', 'unmounting'));
    live.kernel?.attach(undefined);
    try {
      await live.session.unmount();
    } catch (e) {
      this.logger.warn('fuse unmount failed; forcing', { error: (e as Error).message });
      await forceUnmount(this.mountPoint, this.logger);
    } finally {
      this.live = null;
      await this.options.afterRequests?.().catch((e: Error) => this.logger.error('flush after the last requests failed', { error: e.message }));
      await live.backing.close();
    }
    this.logger.info('unmounted');
  }
}

function isWithin(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : parent + '/');
}
