import type { VopStat } from '../vop';

/**
 * File attributes cached under attr tokens (DESIGN §2): valid while this
 * agent holds the resource's attr token, dropped when it goes. Under attr
 * WRITE the agent's own size changes (extending writes, truncate) are
 * applied here, so the cached size is the file's size as this host made it.
 */
export class AttrCache {
  private readonly entries = new Map<string, VopStat>();

  get(resource: string): VopStat | undefined {
    return this.entries.get(resource);
  }

  set(resource: string, stat: VopStat): void {
    this.entries.set(resource, { ...stat });
  }

  /**
   * Records a size this agent gave the file (no-op when nothing is cached).
   * `writtenBytes` just landed in it (unflushed, maybe): st_blocks grows to
   * cover them, up to a dense file of that size, an estimate until the store
   * is stat'ed again. Left at the stat's count, a file this host wrote would
   * show 0 blocks: `du` says it is empty and `cp` takes it for sparse.
   */
  setSize(resource: string, size: number, writtenBytes = 0): void {
    const st = this.entries.get(resource);
    if (!st) return;
    const dense = blocksFor(size, st.blksize);
    if (size < st.size) st.blocks = Math.min(st.blocks, dense);
    st.size = size;
    if (writtenBytes > 0) st.blocks = Math.max(st.blocks, Math.min(st.blocks + blocksFor(writtenBytes, st.blksize), dense));
  }

  /**
   * This host changed the file's data at wall time `nowMs` (a write, a
   * truncate): the cached mtime and ctime move there, as the store's will
   * when the change reaches it (no-op when nothing is cached). Without it a
   * stat here kept the times from before the write while the token lasted,
   * and `make` saw nothing to rebuild.
   */
  modified(resource: string, nowMs: number): void {
    const st = this.entries.get(resource);
    if (st) this.entries.set(resource, modifiedAt(st, nowMs));
  }

  drop(resource: string): void {
    this.entries.delete(resource);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** `st` with mtime and ctime moved to `nowMs` (never back): the times a change made at `nowMs` gives. */
export function modifiedAt(st: VopStat, nowMs: number): VopStat {
  const out = { ...st };
  const ns = BigInt(Math.floor(nowMs)) * 1_000_000n;
  if (nowMs > st.mtimeMs) Object.assign(out, { mtimeMs: nowMs, mtimeNs: ns });
  if (Math.floor(nowMs) > st.ctimeMs) Object.assign(out, { ctimeMs: Math.floor(nowMs), ctimeNs: ns });
  return out;
}

/** 512-byte units (st_blocks) of `bytes` allocated in whole blocks of `blksize` (4 KiB when unknown). */
function blocksFor(bytes: number, blksize: number): number {
  const unit = blksize > 0 ? blksize : 4096;
  return (Math.ceil(bytes / unit) * unit) / 512;
}
