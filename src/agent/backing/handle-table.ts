import type { FileHandle } from 'fs/promises';
import { ErrnoError } from './errno-error';

/** An open backing file, known to FUSE by its id (fuse_file_info.fh). */
export interface OpenFile {
  readonly id: number;
  readonly handle: FileHandle;
  readonly ino: number;
  /** Mount path at open time (for logs; the file may since have been renamed). */
  readonly path: string;
}

/** Default bound on open handles per mount (EMFILE beyond it). */
export const DEFAULT_MAX_OPEN_FILES = 65536;

/**
 * The agent's file handle table. Ids are small positive uint32s (fuse-native
 * treats 0 as "no handle" and passes fh as uint32), reused only after
 * release and wrap-around.
 */
export class HandleTable {
  private readonly files = new Map<number, OpenFile>();
  /** Backing inode → the ids of its open handles. */
  private readonly byIno = new Map<number, Set<number>>();
  private nextId = 1;

  constructor(private readonly maxOpen: number = DEFAULT_MAX_OPEN_FILES) {}

  get size(): number {
    return this.files.size;
  }

  add(handle: FileHandle, ino: number, path: string): number {
    if (this.files.size >= this.maxOpen) throw new ErrnoError('EMFILE', 'too many open files in the agent');
    let id = this.nextId;
    while (this.files.has(id)) id = id >= 0xfffffffe ? 1 : id + 1;
    this.nextId = id >= 0xfffffffe ? 1 : id + 1;
    this.files.set(id, { id, handle, ino, path });
    let ids = this.byIno.get(ino);
    if (ids === undefined) this.byIno.set(ino, (ids = new Set()));
    ids.add(id);
    return id;
  }

  /** The open file, or EBADF. */
  get(id: unknown): OpenFile {
    const file = typeof id === 'number' ? this.files.get(id) : undefined;
    if (!file) throw new ErrnoError('EBADF', 'unknown file handle');
    return file;
  }

  /** The inode behind a handle, or undefined. */
  inoOf(id: number): number | undefined {
    return this.files.get(id)?.ino;
  }

  /** Some open handle of backing inode `ino`, or undefined: its attributes whatever its name is now. */
  anyOf(ino: number): number | undefined {
    const ids = this.byIno.get(ino);
    return ids === undefined ? undefined : ids.values().next().value;
  }

  /** Removes and returns the open file, or EBADF. */
  take(id: unknown): OpenFile {
    const file = this.get(id);
    this.files.delete(file.id);
    const ids = this.byIno.get(file.ino);
    ids?.delete(file.id);
    if (ids?.size === 0) this.byIno.delete(file.ino);
    return file;
  }

  /** Closes every handle (unmount); errors are ignored, the handles are gone either way. */
  async closeAll(): Promise<void> {
    const all = [...this.files.values()];
    this.files.clear();
    this.byIno.clear();
    await Promise.all(all.map((f) => f.handle.close().catch(() => undefined)));
  }
}
