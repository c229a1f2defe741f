import { closeSync, constants, openSync, readFileSync } from 'fs';
import { constants as osConstants } from 'os';
import type { Logger } from '../../../common/logger';
import type { SysCalls } from './fuse-addon';

/** CAP_DAC_READ_SEARCH: open_by_handle_at needs it. */
const CAP_DAC_READ_SEARCH = 2n;
const { ENOENT, EPERM } = osConstants.errno;

/** Where a node's inode lies now: its mount path, gone (deleted, or outside the backing root), or unknown. */
export type Located = { path: string } | 'gone' | undefined;

/** Whether this process has CAP_DAC_READ_SEARCH in its effective set (/proc/self/status). */
export function hasDacReadSearch(status: string = readFileSync('/proc/self/status', 'utf8')): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m !== null && ((BigInt(`0x${m[1]}`) >> CAP_DAC_READ_SEARCH) & 1n) === 1n;
}

/**
 * Finds a backing inode again after another host renamed it (or a directory
 * above it): the node keeps the inode's file handle (name_to_handle_at,
 * taken when the node is made), and `locate` opens the handle
 * (open_by_handle_at, O_PATH) and reads the descriptor's path. A path
 * outside the backing root, a deleted inode or one without links is gone.
 *
 * Off (no handles taken, `locate` unknown: the callers keep the path they
 * know, as before) when the agent lacks CAP_DAC_READ_SEARCH or the backing
 * filesystem has no file handles; said once in the log.
 */
export class NodeLocator {
  private on: boolean;
  private readonly prefix: string;

  /**
   * `root`: the canonical backing directory; `capable`: whether the process
   * may open handles (default: its effective capabilities).
   */
  constructor(private readonly root: string, private readonly sys: SysCalls, private readonly logger: Logger, capable: boolean = hasDacReadSearch()) {
    this.prefix = root.endsWith('/') ? root : `${root}/`;
    this.on = capable && this.rootHasHandles();
    if (!capable) this.logger.warn('nodes moved by other hosts are found by path only', { reason: 'no CAP_DAC_READ_SEARCH' });
  }

  /** Whether handles are taken and located. */
  get enabled(): boolean {
    return this.on;
  }

  /** The handle of the backing inode at mount path `mountPath` (undefined if off or it failed: the node keeps its path only). */
  async takeAt(mountPath: string): Promise<Buffer | undefined> {
    if (!this.on) return undefined;
    const r = await this.sys.handleAtAsync(mountPath === '/' ? this.root : this.prefix + mountPath.slice(1)).catch(() => -1);
    return typeof r === 'number' ? undefined : r.handle;
  }

  /** The handle of an open backing descriptor (one syscall, no I/O). */
  takeOfFd(fd: number): Buffer | undefined {
    if (!this.on) return undefined;
    const r = this.sys.handleOfFd(fd);
    return typeof r === 'number' ? undefined : r.handle;
  }

  /** Where the inode of `handle` lies now, as a mount path. */
  async locate(handle: Buffer | undefined): Promise<Located> {
    if (!this.on || handle === undefined) return undefined;
    const r = await this.sys.pathOfHandleAsync(this.root, handle);
    if (typeof r === 'number') {
      if (r === -ENOENT) return 'gone';
      if (r === -EPERM) this.off('open_by_handle_at refused (EPERM)');
      return undefined;
    }
    if (r === this.root) return { path: '/' };
    return r.startsWith(this.prefix) ? { path: `/${r.slice(this.prefix.length)}` } : 'gone';
  }

  /** The backing filesystem gives handles (probed once on the root); off and logged otherwise. */
  private rootHasHandles(): boolean {
    let fd: number | undefined;
    try {
      fd = openSync(this.root, constants.O_RDONLY | constants.O_DIRECTORY);
      const r = this.sys.handleOfFd(fd);
      if (typeof r !== 'number') return true;
      this.logger.warn('nodes moved by other hosts are found by path only', { reason: 'the backing filesystem gives no file handles', errno: -r });
    } catch (e) {
      this.logger.warn('nodes moved by other hosts are found by path only', { reason: (e as Error).message });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return false;
  }

  private off(reason: string): void {
    if (!this.on) return;
    this.on = false;
    this.logger.warn('nodes moved by other hosts are found by path only', { reason });
  }
}
