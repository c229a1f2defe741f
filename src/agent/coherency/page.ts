/** Cached pages are 4 KiB, aligned on file offsets that are multiples of PAGE_SIZE. */
export const PAGE_SIZE = 4096;

/**
 * How the coherency layer names a file to the backing store: inode, the
 * path last seen, and the open handle of the last buffered write (flushes
 * go through it: paths can change under renames; release flushes first).
 */
export interface FileRef {
  ino: number;
  path: string;
  fh?: number;
}

/** The FileRef of an op on inode `ino`: its path, and its handle when it has one. */
export function fileRefOf(op: { path: string; args: { fh?: number } }, ino: number): FileRef {
  return { ino, path: op.path, fh: op.args.fh };
}

/**
 * One cached page of one file. A page may hold only a dirty extent
 * (`filled` false: the other bytes are unknown) or the whole page content
 * (`filled` true). Bytes at or past `length` of a filled page are zeros:
 * `length` < PAGE_SIZE means the file ends inside this page.
 */
export class Page {
  filled = false;
  length = 0;
  /** Dirty bytes [dirtyStart, dirtyEnd) within the page; empty when clean. */
  dirtyStart = 0;
  dirtyEnd = 0;
  /** Bumped whenever dirty bytes change, so a flush can tell whether it wrote the latest. */
  version = 0;
  /** Links of the clean-page LRU (intrusive-lru.ts). */
  lruPrev: Page | undefined = undefined;
  lruNext: Page | undefined = undefined;
  inLru = false;

  /**
   * `buf` is not zero-filled: bytes are read only where they are known (the
   * dirty extent, or [0, length) of a filled page), and fillFrom zeroes what
   * lies past the file's content. Cached pages get theirs from PageStore's
   * pool; scratch pages allocate one.
   */
  constructor(
    readonly file: FilePages,
    readonly index: number,
    readonly buf: Buffer = Buffer.allocUnsafe(PAGE_SIZE),
  ) {}

  get offset(): number {
    return this.index * PAGE_SIZE;
  }

  get dirty(): boolean {
    return this.dirtyEnd > this.dirtyStart;
  }

  /**
   * Makes the page whole from backing bytes `src` (n = src.length ≤ PAGE_SIZE
   * bytes of file content), keeping its dirty extent; bytes past the content are zeros.
   */
  fillFrom(src: Buffer, length: number): void {
    const saved = this.dirty ? Buffer.from(this.buf.subarray(this.dirtyStart, this.dirtyEnd)) : undefined;
    const n = Math.min(src.length, PAGE_SIZE);
    src.copy(this.buf, 0, 0, n);
    this.buf.fill(0, n);
    if (saved) saved.copy(this.buf, this.dirtyStart);
    this.filled = true;
    this.length = length;
  }
}

let nextGeneration = 1;

/** A process-wide counter, so generations of a file's old and new FilePages never collide. */
export function newGeneration(): number {
  return nextGeneration++;
}

/** The cached pages of one file, and what write-back needs to know about them. */
export class FilePages {
  readonly pages = new Map<number, Page>();
  readonly dirty = new Set<Page>();
  /** End offset of the last dirty byte; 0 when clean. */
  dirtyEnd = 0;
  /** The filled page where the file ends (length < PAGE_SIZE), if cached. */
  shortPage: Page | undefined;
  /** Bumped by every write and truncate; a fill that raced one does not cache. */
  writeGeneration = newGeneration();
  /** Where the last small read ended: a miss starting there is sequential and reads ahead. */
  readEnd = 0;

  constructor(
    readonly key: string,
    public ref: FileRef,
  ) {}

  recomputeDirtyEnd(): void {
    let end = 0;
    for (const p of this.dirty) end = Math.max(end, p.offset + p.dirtyEnd);
    this.dirtyEnd = end;
  }

  /** The content length a page filled now must report: backing bytes, extended by unflushed writes past them. */
  lengthFor(page: Page | undefined, index: number, backingBytes: number): number {
    let length = backingBytes;
    if (page?.dirty) length = Math.max(length, page.dirtyEnd);
    const pastHere = this.dirtyEnd - index * PAGE_SIZE;
    if (pastHere > length) length = Math.min(PAGE_SIZE, pastHere);
    return length;
  }
}
