import { END_OF_FILE } from '../../common/byte-range';
import type { HeldToken } from './held-token';

/** What the kernel may cache of one file's data, and under what. */
export interface FilePagesState {
  readonly ino: number;
  /** Opens whose READs the kernel caches (no direct_io). */
  cachedOpens: number;
  /** Of those, the read-write ones: a shared writable mapping may dirty pages through them (READs then ask for WRITE). */
  writableOpens: number;
  /** The whole-file tokens that READs were served under: the kernel's pages are valid while every one of them is. */
  readonly under: Set<HeldToken>;
  /** Pages may be cached that no whole-file token covers (served under DIRECT, a part or an uncached token). */
  stray: boolean;
  /** READs of the inode seen so far (any handle): a pass that saw none start is the last one. */
  readsStarted: number;
  /** Of those, the ones answered (KernelPages.readAnswered); fewer: READs are in flight. */
  readsAnswered: number;
  /** Called once no READ is in flight (readsAnswered caught up with readsStarted). */
  onSettled: Array<() => void>;
  /**
   * `readsStarted` when the last whole-file drop that completed began (or
   * when the record was made): equal to it, the kernel holds no page of the
   * file (pages come only from READs; one that arrived before a drop began
   * holds its page locked, so the drop waits for it and takes its page).
   */
  cleanAt: number;
  /** Bumped at every change of `under` or `stray`: a drop forgets only what it saw. */
  generation: number;
  /** Drops scheduled after READs' replies (a local write ran beside them), chained; revokes wait for them. */
  pendingDrop: Promise<void> | undefined;
  /** One of those drops has not begun yet: it will take the page of a READ answered now too. */
  dropQueued: boolean;
}

/** A token the kernel may cache pages under: whole file, caching mode, not uncached, still held. */
export function coversKernelPages(t: HeldToken): boolean {
  return t.alive && t.space === 'data' && t.mode !== 'DIRECT' && !t.uncached && t.range.start === 0 && t.range.end === END_OF_FILE;
}

/** The record of a file the kernel has just been allowed to cache (backing inode `ino`): nothing read yet. */
export function newFilePagesState(ino: number): FilePagesState {
  return { ino, cachedOpens: 0, writableOpens: 0, under: new Set(), stray: false, readsStarted: 0, readsAnswered: 0, onSettled: [], cleanAt: 0, generation: 0, pendingDrop: undefined, dropQueued: false };
}
