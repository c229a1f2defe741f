import { SessionLostError } from '../../common/errors';
import type { Next, VopOf, VopStat } from '../vop';
import type { CoherencyCore } from './coherency-core';
import type { FileRef } from './page';

/** Operations done under DIRECT tokens, counted for metrics. */
export type DirectOp = 'read' | 'write' | 'append' | 'truncate' | 'getattr';

/**
 * File operations under DIRECT tokens (docs/direct-mode.md): straight to
 * the backing store, nothing cached, no token traffic (the DIRECT token is
 * held like any other and serves every operation until it is renewed).
 *
 * Other hosts holding DIRECT cache nothing either, and no host holds a
 * caching token beside them, so the backing store itself is coherent:
 * O_APPEND appends atomically there and sizes come from it. This host's
 * own caches may still hold bytes from caching tokens it had before the
 * resource became direct: its dirty bytes go to the store first and its
 * clean pages and attributes are dropped, so a later cached read cannot
 * serve what a direct write changed. Writes check the session first, as
 * every write does: a host past its lease deadline writes nothing.
 */
export class DirectIo {
  readonly counts: Record<DirectOp, number> = { read: 0, write: 0, append: 0, truncate: 0, getattr: 0 };

  constructor(private readonly core: CoherencyCore) {}

  async read(vop: VopOf<'read'>, next: Next, key: string): Promise<number> {
    this.counts.read++;
    await this.settle(key);
    return (await next(vop)) as number;
  }

  async write(vop: VopOf<'write'>, next: Next, key: string, fencingToken: VopOf<'write'>['fencingToken']): Promise<number> {
    this.counts.write++;
    await this.settle(key);
    this.checkNotFenced(vop.op);
    vop.fencingToken = fencingToken;
    vop.direct = true;
    try {
      return (await next(vop)) as number;
    } finally {
      this.dropAfterChange(key);
    }
  }

  /** O_APPEND: the backing store appends atomically; the journal records the size seen just before. */
  async append(vop: VopOf<'write'>, next: Next, key: string, ref: FileRef, fencingToken: VopOf<'write'>['fencingToken']): Promise<number> {
    this.counts.append++;
    await this.settle(key);
    vop.args.offset = (await this.core.backing.stat(ref)).size;
    this.checkNotFenced(vop.op);
    vop.fencingToken = fencingToken;
    vop.direct = true;
    try {
      return (await next(vop)) as number;
    } finally {
      this.dropAfterChange(key);
    }
  }

  async truncate(vop: VopOf<'truncate'>, next: Next, key: string, fencingToken: VopOf<'truncate'>['fencingToken']): Promise<void> {
    this.counts.truncate++;
    await this.settle(key);
    this.checkNotFenced(vop.op);
    vop.fencingToken = fencingToken;
    vop.direct = true;
    try {
      await next(vop);
    } finally {
      this.dropAfterChange(key);
    }
  }

  /**
   * Drops this host's clean pages again once a direct change reached the
   * store. A read of this host under a caching token it still holds may
   * have run beside the change: it read the old bytes after settle()'s
   * drop, so its generation check passes, and it would cache them (chaos
   * seed 20261205: a kept descriptor read the value its own host had
   * replaced, three times over 90 ms). The drop moves the generation on, so
   * such a read caches nothing, or what it cached goes.
   */
  dropAfterChange(key: string): void {
    this.core.pages.dropClean(key);
  }

  /**
   * Attributes from the backing store, never cached. Those the lookup just
   * read (`seen`) serve when this host had nothing to flush: the store is
   * coherent, so any moment of the request is a valid read.
   */
  async getattr(vop: VopOf<'getattr'>, next: Next, key: string): Promise<VopStat> {
    this.counts.getattr++;
    const flushed = await this.settle(key);
    if (vop.args.seen !== undefined && !flushed) return vop.args.seen;
    return (await next(vop)) as VopStat;
  }

  /** This host's own dirty bytes reach the store first; its clean pages and cached attributes go. True if it flushed. */
  private async settle(key: string): Promise<boolean> {
    this.core.kernel.pages.sawDirect(key); // its next opens are direct_io (kernel-pages.ts)
    this.core.attrs.drop(key);
    const file = this.core.pages.file(key);
    if (file === undefined) return false;
    const dirty = file.dirty.size > 0;
    if (dirty) await this.core.writeBack.flush(key);
    this.core.pages.dropClean(key);
    return dirty;
  }

  private checkNotFenced(op: string): void {
    if (this.core.client.isFenced()) throw new SessionLostError('LEASE_DEADLINE_PASSED', 'agent is fenced: no direct writes', { op });
  }
}
