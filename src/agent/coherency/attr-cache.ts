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

  /** Records a size this agent gave the file (no-op when nothing is cached). */
  setSize(resource: string, size: number): void {
    const st = this.entries.get(resource);
    if (st) st.size = size;
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
