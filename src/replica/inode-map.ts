import * as nodePath from 'path';

/**
 * Where each backing-store inode lives in the mirror, as paths relative to
 * the mirror root ('' is the root). Replaying by inode, not by the path in
 * the record, is what keeps a write to a file renamed or unlinked meanwhile
 * (an open descriptor on another host) out of whatever now has that name.
 */
export class InodeMap {
  private readonly paths = new Map<number, string[]>();
  /** Reverse index: which inode a mirror path is. */
  private readonly byPath = new Map<string, number>();
  /** Inodes whose last name was removed: later ops on them have nothing to change. */
  private readonly gone = new Set<number>();

  static fromJSON(entries: Array<[number, string[]]>, gone: number[]): InodeMap {
    const map = new InodeMap();
    for (const [ino, paths] of entries) map.set(ino, [...paths]);
    for (const ino of gone) map.gone.add(ino);
    return map;
  }

  toJSON(): { entries: Array<[number, string[]]>; gone: number[] } {
    return { entries: [...this.paths.entries()], gone: [...this.gone].slice(-10_000) };
  }

  get size(): number {
    return this.paths.size;
  }

  pathOf(ino: number | null | undefined): string | undefined {
    return ino === null || ino === undefined ? undefined : this.paths.get(ino)?.[0];
  }

  isGone(ino: number | null | undefined): boolean {
    return ino !== null && ino !== undefined && this.gone.has(ino) && !this.paths.has(ino);
  }

  /** A new inode (create, mkdir, …): its only name, whatever this number meant before. */
  created(ino: number, rel: string): void {
    this.dropPath(rel);
    for (const old of this.paths.get(ino) ?? []) this.byPath.delete(old);
    this.set(ino, [rel]);
    this.gone.delete(ino);
  }

  /** Learns a name seen in a record, if the inode has none yet. */
  learn(ino: number, rel: string): void {
    if (!this.paths.has(ino) && !this.gone.has(ino) && !this.byPath.has(rel)) this.set(ino, [rel]);
  }

  linked(ino: number, rel: string): void {
    this.dropPath(rel);
    const list = this.paths.get(ino) ?? [];
    if (!list.includes(rel)) list.push(rel);
    this.set(ino, list);
    this.gone.delete(ino);
  }

  /** The name `rel` went away (unlink, rmdir, or replaced by a rename). */
  removed(rel: string): void {
    this.dropPath(rel);
  }

  /** `from` became `to` (and everything under it, for a directory). */
  renamed(from: string, to: string): void {
    this.dropPath(to);
    if (!this.byPath.has(from)) return;
    const prefix = from + '/';
    for (const [ino, list] of this.paths) {
      if (!list.some((p) => p === from || p.startsWith(prefix))) continue;
      this.set(ino, list.map((p) => (p === from ? to : p.startsWith(prefix) ? to + p.slice(from.length) : p)));
    }
  }

  /** RENAME_EXCHANGE of `a` and `b`: the two names (and everything under them) swap inodes. */
  exchanged(a: string, b: string): void {
    const swap = (p: string) => (p === a || p.startsWith(a + '/') ? b + p.slice(a.length) : p === b || p.startsWith(b + '/') ? a + p.slice(b.length) : p);
    const changed: Array<[number, string[]]> = [];
    for (const [ino, list] of this.paths) {
      const next = list.map(swap);
      if (next.some((p, i) => p !== list[i])) changed.push([ino, next]);
    }
    for (const [ino] of changed) for (const old of this.paths.get(ino) ?? []) if (this.byPath.get(old) === ino) this.byPath.delete(old);
    for (const [ino, list] of changed) {
      this.paths.set(ino, list);
      for (const p of list) this.byPath.set(p, ino);
    }
  }

  private set(ino: number, list: string[]): void {
    for (const old of this.paths.get(ino) ?? []) if (this.byPath.get(old) === ino) this.byPath.delete(old);
    this.paths.set(ino, list);
    for (const p of list) this.byPath.set(p, ino);
  }

  /** Forgets `rel` and everything under it (only a known name can have anything under it). */
  private dropPath(rel: string): void {
    if (!this.byPath.has(rel)) return;
    const prefix = rel + '/';
    for (const [ino, list] of this.paths) {
      const kept = list.filter((p) => p !== rel && !p.startsWith(prefix));
      if (kept.length === list.length) continue;
      if (kept.length === 0) {
        for (const p of list) this.byPath.delete(p);
        this.paths.delete(ino);
        this.gone.add(ino);
      } else this.set(ino, kept);
    }
  }
}

/** The parent of a mirror-relative path ('' for the root's children). */
export function parentOf(rel: string): string {
  const d = nodePath.posix.dirname(rel);
  return d === '.' || d === '/' ? '' : d;
}

/** A record's '/'-rooted path as a mirror-relative one, refusing anything that escapes the mirror. */
export function relOf(path: string): string | undefined {
  const normal = nodePath.posix.normalize('/' + path);
  if (normal.split('/').includes('..')) return undefined;
  return normal.replace(/^\/+/, '').replace(/\/+$/, '');
}
