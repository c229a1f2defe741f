import { constants } from 'os';
import { SystemClock, type Clock } from '../../../common/clock';
import { Logger } from '../../../common/logger';
import { FuseAddon, SessionHandle, loadFuseAddon } from './fuse-addon';
import { FuseRequest } from './fuse-request';
import { LowLevelOps } from './low-level-ops';
import { RequestDispatch } from './request-dispatch';
import type { DropMarks } from './drop-marks';

export interface FuseSessionOptions {
  mountPoint: string;
  /** -o options (see mount-options.ts). */
  options: string[];
  ops: LowLevelOps;
  logger: Logger;
  /** Surface getlk/setlk/flock to ops (cluster locks); without it the kernel keeps locks local. */
  locks?: boolean;
  /** Called once if the kernel side goes away without unmount() (fusermount -u, abort). */
  onClosed?: () => void;
  /** Numbers requests in queue order and learns of inode drops (drop-marks.ts); without it ctx.seq is absent. */
  drops?: Pick<DropMarks, 'requestSeen' | 'dropping'>;
  /** Bounds unmount()'s wait for requests still running (default: the system clock). */
  clock?: Clock;
}

/** unmount() waits this long at most for requests that were running when the session went. */
export const REQUESTS_DRAIN_MS = 5000;

/** Thrown into a waiting op's signal by FUSE_INTERRUPT; maps to EINTR. */
export class InterruptedError extends Error {
  readonly code = 'EINTR';
  constructor() { super('interrupted by the caller'); this.name = 'InterruptedError'; }
}

/**
 * One mounted low-level FUSE session. Requests arrive on the JS thread
 * (posted by the addon's loop thread); each runs against `ops` and is
 * answered when its promise settles. Notifications go to the addon's
 * notify thread; unmount() waits for those in flight first (the loop keeps
 * serving meanwhile), so no notification can wait on a request that will
 * never be answered.
 */
export class FuseSession {
  private handle: SessionHandle | null;
  private readonly addon: FuseAddon;
  private readonly dispatch: RequestDispatch;
  private readonly unmounting = new AbortController();
  private readonly waiting = new Map<number, AbortController>();
  private readonly notifying = new Set<Promise<number>>();
  /** Requests handed to ops and not answered yet. */
  private readonly running = new Set<Promise<void>>();
  private closing: Promise<void> | null = null;

  constructor(private readonly options: FuseSessionOptions) {
    this.addon = loadFuseAddon();
    this.dispatch = new RequestDispatch(this.addon, options.ops, options.logger);
    this.handle = this.addon.mount(options.mountPoint, options.options.join(','), (r) => this.onRequest(r), { locks: options.locks === true });
  }

  get mounted(): boolean {
    return this.handle !== null && this.closing === null;
  }

  /** The session's /dev/fuse descriptor, or -ENOTCONN once unmounted (the cache fence gets a copy). */
  fd(): number {
    if (!this.handle || this.closing) return -constants.errno.ENOTCONN;
    return this.addon.sessionFd(this.handle);
  }

  /**
   * Drops cached pages of ino in [offset, offset+length) (length 0: to the
   * end; offset -1: attributes only). A directory's drop gets no queue mark:
   * its opens are never cached, so no read(2) waits on its GETATTR.
   */
  invalidateInode(ino: number, offset = 0, length = 0, directory = false): Promise<number> {
    const dropped = directory ? undefined : this.options.drops?.dropping(ino);
    const p = this.track((h) => this.addon.notifyInvalInode(h, ino, offset, length));
    if (dropped) void p.finally(dropped);
    return p;
  }

  /** Drops the kernel's cached entry parent/name (and its negative entry). */
  invalidateEntry(parent: number, name: string): Promise<number> {
    return this.track((h) => this.addon.notifyInvalEntry(h, parent, name));
  }

  /** Tells the kernel parent/name (child) was deleted elsewhere. */
  notifyDelete(parent: number, child: number, name: string): Promise<number> {
    return this.track((h) => this.addon.notifyDelete(h, parent, child, name));
  }

  /**
   * The kernel caches `data` at `offset` of ino and grows its i_size to
   * offset + data.length when that is larger (FUSE_NOTIFY_STORE): unlike a
   * GETATTR reply, no concurrent invalidation can make it discard that size.
   */
  storeInode(ino: number, offset: number, data: Buffer): Promise<number> {
    return this.track((h) => this.addon.notifyStore(h, ino, offset, data));
  }

  /**
   * Every dentry the kernel holds is invalid from its next use on
   * (FUSE_NOTIFY_INC_EPOCH, kernel 6.16+). Synchronous and lock-free in the
   * kernel, so safe from anywhere. 0, or -errno (-EINVAL: kernel too old).
   */
  incrementEpoch(): number {
    if (!this.handle || this.closing) return -constants.errno.ENOTCONN;
    return this.addon.notifyIncEpoch(this.handle);
  }

  /**
   * Idempotent: waits for notifications in flight, unmounts (lazily) and
   * frees the session, then waits for the requests still running. Their
   * replies go nowhere now, but their ops go on (a write may be reaching
   * the backing store): the caller closes the journal and the store only
   * once they are done, or the journal would miss a change the store got
   * (chaos seed 86: "journal record appended after close" at an agent's
   * graceful restart). At most REQUESTS_DRAIN_MS: lock and token waits end
   * at once (their signal is aborted), so only store calls remain.
   */
  unmount(): Promise<void> {
    if (!this.closing) this.closing = this.close();
    return this.closing;
  }

  private async close(): Promise<void> {
    this.unmounting.abort(new InterruptedError());
    await Promise.allSettled([...this.notifying]);
    const h = this.handle;
    this.handle = null;
    if (h) this.addon.unmount(h);
    await this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running.size === 0) return;
    let timer: { cancel(): void } | undefined;
    const bound = new Promise<false>((resolve) => { timer = (this.options.clock ?? new SystemClock()).setTimer(REQUESTS_DRAIN_MS, () => resolve(false)); });
    const done = await Promise.race([Promise.allSettled([...this.running]).then(() => true), bound]);
    timer?.cancel();
    if (!done) this.options.logger.warn('requests still running after the unmount; what they use closes under them', { requests: this.running.size, waitedMs: REQUESTS_DRAIN_MS });
  }

  private track(call: (h: SessionHandle) => Promise<number>): Promise<number> {
    if (!this.handle || this.closing) return Promise.resolve(-constants.errno.ENOTCONN);
    const p = call(this.handle);
    this.notifying.add(p);
    void p.finally(() => this.notifying.delete(p));
    return p;
  }

  private onRequest(r: FuseRequest): void {
    const seq = this.options.drops?.requestSeen(r.op);
    switch (r.op) {
      case 'forget':
        this.options.ops.forget?.(r.ino, r.nlookup ?? 0);
        return;
      case 'interrupt':
        this.waiting.get(r.id)?.abort(new InterruptedError());
        return;
      case 'closed':
        if (this.handle && !this.closing) {
          // flags: the loop's last result, 0 or -ENODEV when unmounted or aborted, another -errno when reading failed.
          this.options.logger.warn('fuse mount closed from outside', { mountPoint: this.options.mountPoint, loopResult: r.flags });
          void this.unmount().then(() => this.options.onClosed?.());
        }
        return;
      default:
        this.run(r, seq);
    }
  }

  /** Lock waits get their own signal, aborted by FUSE_INTERRUPT or unmount. */
  private run(r: FuseRequest, seq: number | undefined): void {
    const base = { uid: r.uid, gid: r.gid, pid: r.pid, umask: r.umask, seq };
    if (!(r.sleep && (r.op === 'setlk' || r.op === 'flock'))) {
      this.tracked(this.dispatch.run(r, { ...base, signal: this.unmounting.signal }));
      return;
    }
    const c = new AbortController();
    const onUnmount = () => c.abort(this.unmounting.signal.reason);
    this.unmounting.signal.addEventListener('abort', onUnmount, { once: true });
    this.waiting.set(r.id, c);
    this.tracked(this.dispatch.run(r, { ...base, signal: c.signal }).finally(() => {
      this.waiting.delete(r.id);
      this.unmounting.signal.removeEventListener('abort', onUnmount);
    }));
  }

  private tracked(p: Promise<void>): void {
    const settled = p.then(() => undefined, () => undefined);
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
  }
}
