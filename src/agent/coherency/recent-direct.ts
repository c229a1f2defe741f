/** An O_RDONLY open of a file this host served under DIRECT this recently is direct_io (it is, or was, contended). */
export const DIRECT_RECENT_MS = 10_000;

/** Most files remembered; past it the memory starts over (a hint: forgetting a file only lets it be cached sooner). */
const MAX_REMEMBERED = 4096;

/**
 * Which files this host served under DIRECT lately: a contended file's
 * opens stay direct_io, as the kernel's cache would gain nothing there.
 */
export class RecentDirect {
  /** Resource → when this host last served it under DIRECT. */
  private readonly seenAt = new Map<string, number>();

  constructor(private readonly nowMs: () => number) {}

  saw(key: string): void {
    if (this.seenAt.size >= MAX_REMEMBERED && !this.seenAt.has(key)) this.seenAt.clear();
    this.seenAt.set(key, this.nowMs());
  }

  isRecent(key: string): boolean {
    const at = this.seenAt.get(key);
    if (at === undefined) return false;
    if (this.nowMs() - at < DIRECT_RECENT_MS) return true;
    this.seenAt.delete(key);
    return false;
  }
}
