import { ByteRange, END_OF_FILE, isValidOffset, WHOLE_FILE } from '../../common/byte-range';
import { SessionLostError } from '../../common/errors';
import type { FencingToken } from '../../common/lock-shapes';
import type { Next, VopOf } from '../vop';
import type { CoherencyCore } from './coherency-core';
import { tokenRequest, type TokenMode, type TokenUse } from './held-token';
import { dropKernelCopy } from './kernel-copy-drop';
import { FilePages, FileRef, fileRefOf, PAGE_SIZE } from './page';

/**
 * Writes under tokens: data WRITE (plus attr WRITE when they extend the
 * file) into write-back; O_APPEND and uncached files straight to the
 * backing store; truncate; fsync, flush and release. Under DIRECT tokens
 * (contended files) all of it straight to the backing store (direct-io.ts).
 * Large writes stay buffered: a write(2) arrives in several FUSE requests,
 * and writing them through one by one would let another host see half of
 * it after this agent dies (coherent-crash e2e).
 */
export class DataWrites {
  constructor(private readonly core: CoherencyCore) {}

  async write(vop: VopOf<'write'>, next: Next, ino: number, append: boolean): Promise<number> {
    const { data, offset } = vop.args;
    if (!Buffer.isBuffer(data) || data.length === 0 || !isValidOffset(offset) || offset + data.length > Number.MAX_SAFE_INTEGER) {
      return (await next(vop)) as number;
    }
    if (vop.args.writeback === true) return this.writeBackMapped(vop, next, ino);
    if (append) return this.append(vop, next, ino);
    const { tokens, writeBack, attrs } = this.core;
    const key = this.core.resourceOf(ino);
    const end = offset + data.length;
    // READ unless this host already holds WRITE (no network either way): most writes extend the file.
    let attrMode: TokenMode = tokens.find(tokenRequest(key, 'attr', 'WRITE', WHOLE_FILE)) ? 'WRITE' : 'READ';
    // A write through a cached read-write handle puts its bytes in the kernel's pages, which a mapping may then
    // dirty: while such a handle exists, they lie under whole-file WRITE like the pages of READs (kernel-pages.ts).
    const dataRange = this.core.kernel.pages.mapsWritable(key) ? WHOLE_FILE : { start: offset, end };
    for (;;) {
      const reqs = [tokenRequest(key, 'data', 'WRITE', dataRange), tokenRequest(key, 'attr', attrMode, WHOLE_FILE)];
      const uses = tokens.tryUseAll(reqs) ?? (await tokens.useAll(reqs, vop.signal));
      let writing = false;
      try {
        writing = isDirect(uses);
        if (writing) return await this.core.direct.write(vop, next, key, uses[0].token.fencingToken);
        const size = (uses[1].token.mode !== 'DIRECT' ? this.knownSize(key) : undefined) ?? (await this.sizeOf(key, fileRefOf(vop, ino), uses[1]));
        if (end > size && attrMode === 'READ') {
          attrMode = 'WRITE'; // extending: retry holding attr WRITE (uses are released by finally)
          continue;
        }
        this.checkNotFenced(vop.op);
        vop.fencingToken = uses[0].token.fencingToken;
        writing = true;
        if (tokens.isUncached(key) || uses[0].token.mode === 'DIRECT') {
          await writeBack.flush(key, { start: offset, end });
          this.core.pages.dropClean(key);
          let n: number;
          const at = this.core.wallClockMs(); // before the store's own mtime: a later re-stat never goes back
          try {
            n = (await next(vop)) as number;
          } finally {
            this.core.direct.dropAfterChange(key); // a read beside it may have cached the old bytes (direct-io.ts)
          }
          if (end > size) attrs.setSize(key, end, n);
          attrs.modified(key, at);
          return n;
        }
        await this.intoPages(vop, ino, key, uses[0].token.range);
        if (end > size) attrs.setSize(key, end, data.length);
        attrs.modified(key, this.core.wallClockMs());
        await writeBack.dirtied(key);
        return data.length;
      } finally {
        if (writing) await dropKernelCopy(vop, key, this.core);
        for (const u of uses) u.done();
      }
    }
  }

  /**
   * The kernel writes back pages a shared writable mapping dirtied
   * (docs/fuse.md, "Writable shared mappings"). Such pages exist only under
   * this host's whole-file data WRITE token (taken at the writable open,
   * and by every READ of the file while it is open so), and every path
   * that gives that token up drops the kernel's pages first, which writes
   * them back here while the token still serves. So the token is held and
   * nothing is asked for: a revoke may be waiting on this very write. When
   * it is not held, the session the pages were dirtied under is gone: the
   * bytes are refused (the application's msync, fsync or close gets EIO),
   * never written under tokens another host may have held since.
   */
  private async writeBackMapped(vop: VopOf<'write'>, next: Next, ino: number): Promise<number> {
    const { data, offset } = vop.args;
    const { tokens, pages, writeBack, attrs } = this.core;
    const key = this.core.resourceOf(ino);
    const range = { start: offset, end: offset + data.length };
    const use = tokens.tryUse(tokenRequest(key, 'data', 'WRITE', range));
    if (!use) {
      this.core.logger.error('mapped pages written back without the data WRITE token they were dirtied under: refused', { resource: key, offset, length: data.length });
      throw new SessionLostError('LOCK_NOT_FOUND', 'no data WRITE token for pages written back from a mapping', { op: vop.op, path: vop.path });
    }
    try {
      this.checkNotFenced(vop.op);
      vop.fencingToken = use.token.fencingToken;
      if (use.token.mode === 'DIRECT' || tokens.isUncached(key)) {
        await writeBack.flush(key, range);
        pages.dropClean(key);
        const n = (await next(vop)) as number;
        attrs.modified(key, this.core.wallClockMs());
        return n;
      }
      await this.intoPages(vop, ino, key, use.token.range);
      attrs.modified(key, this.core.wallClockMs());
      await writeBack.dirtied(key);
      return data.length;
    } finally {
      use.done();
    }
  }

  /**
   * O_APPEND: the backing handle appends at its end of file, which is this
   * host's known size once its dirty data is flushed. Written through under
   * attr WRITE and data WRITE from that size to END_OF_FILE.
   */
  private append(vop: VopOf<'write'>, next: Next, ino: number): Promise<number> {
    const { pages, writeBack, attrs } = this.core;
    const key = this.core.resourceOf(ino);
    const direct = (fencing: FencingToken) => this.core.direct.append(vop, next, key, fileRefOf(vop, ino), fencing);
    return this.underTailTokens(vop, ino, key, attrs.get(key)?.size ?? 0, direct, async (size) => {
      await writeBack.flush(key);
      const file = pages.file(key);
      if (file) {
        pages.dropRange(file, { start: size, end: END_OF_FILE }, true);
        pages.forgetEof(file);
      }
      vop.args.offset = size; // where O_APPEND puts the data (the backing ignores it): the journal records it
      const at = this.core.wallClockMs();
      const n = (await next(vop)) as number;
      attrs.setSize(key, size + n, n);
      attrs.modified(key, at);
      return n;
    });
  }

  /** truncate/ftruncate: attr WRITE and data WRITE from the lower of old and new size to END_OF_FILE. */
  async truncate(vop: VopOf<'truncate'>, next: Next, ino: number): Promise<void> {
    const newSize = vop.args.size;
    if (!isValidOffset(newSize) || newSize > Number.MAX_SAFE_INTEGER) return (await next(vop)) as void;
    const { pages, writeBack, attrs } = this.core;
    const key = this.core.resourceOf(ino);
    const direct = (fencing: FencingToken) => this.core.direct.truncate(vop, next, key, fencing);
    return this.underTailTokens(vop, ino, key, newSize, direct, async () => {
      // Dirty bytes past the new size are written first, so a failed truncate loses nothing.
      await writeBack.flush(key, { start: newSize, end: END_OF_FILE });
      const at = this.core.wallClockMs();
      await next(vop);
      const file = pages.file(key);
      if (file) pages.truncate(file, newSize);
      attrs.setSize(key, newSize);
      attrs.modified(key, at);
    });
  }

  /**
   * Runs `body` holding attr WRITE and data WRITE from `from` to END_OF_FILE
   * (an append's or a truncate's tail), with the file's size as known under
   * them. A size below `from` (the file shrank while the tokens were asked
   * for) takes them again from there; under DIRECT tokens `direct` runs
   * instead (direct-io.ts).
   */
  private async underTailTokens<T>(
    vop: VopOf<'write'> | VopOf<'truncate'>, ino: number, key: string, from: number,
    direct: (fencing: FencingToken) => Promise<T>, body: (size: number) => Promise<T>,
  ): Promise<T> {
    for (;;) {
      const uses = await this.core.tokens.useAll([tokenRequest(key, 'attr', 'WRITE', WHOLE_FILE), tokenRequest(key, 'data', 'WRITE', { start: from, end: END_OF_FILE })], vop.signal);
      let changing = false;
      try {
        changing = isDirect(uses);
        if (changing) return await direct(uses[1].token.fencingToken);
        const size = await this.sizeOf(key, fileRefOf(vop, ino), uses[0]);
        if (size < from) {
          from = size;
          continue;
        }
        this.checkNotFenced(vop.op);
        vop.fencingToken = uses[1].token.fencingToken;
        changing = true;
        return await body(size);
      } finally {
        if (changing) await dropKernelCopy(vop, key, this.core);
        for (const u of uses) u.done();
      }
    }
  }

  /** fsync, flush (close of a descriptor), release: flush the file, then report its deferred error. */
  async sync(vop: VopOf<'fsync'> | VopOf<'flush'> | VopOf<'release'>, next: Next, ino: number | undefined): Promise<void> {
    const key = ino === undefined ? undefined : this.core.resourceOf(ino);
    if (key) await this.core.writeBack.flush(key);
    const error = key ? this.core.writeBack.takeError(key) : undefined;
    if (vop.op === 'release') {
      await next(vop); // the handle is closed whatever happened to the data
      if (error) throw error;
      return;
    }
    if (error) throw error;
    await next(vop);
  }

  /** The file's size from the attr cache plus unflushed writes, if cached (the synchronous case of sizeOf). */
  private knownSize(key: string): number | undefined {
    const st = this.core.attrs.get(key);
    return st && this.withUnflushed(key, st.size);
  }

  /** The file's size as this host knows it: cached under the attr token (fetched on a miss), plus unflushed writes. */
  private async sizeOf(key: string, ref: FileRef, attrUse: TokenUse): Promise<number> {
    // Nothing is cached under a DIRECT attr token: the size comes from the store each time.
    const direct = attrUse.token.mode === 'DIRECT';
    const known = direct ? undefined : this.knownSize(key);
    if (known !== undefined) return known;
    const st = await this.core.backing.stat(ref);
    if (attrUse.token.alive && !direct) this.core.attrs.set(key, st);
    return this.withUnflushed(key, st.size);
  }

  private withUnflushed(key: string, size: number): number {
    return Math.max(size, this.core.pages.file(key)?.dirtyEnd ?? 0);
  }

  /** The write's bytes into the file's dirty pages within `writable`; a page another token's bytes block is flushed first. */
  private async intoPages(vop: VopOf<'write'>, ino: number, key: string, writable: ByteRange): Promise<void> {
    const { data, offset } = vop.args;
    const { pages, writeBack } = this.core;
    let file = this.fileForWrite(key, fileRefOf(vop, ino));
    for (let blocked = pages.write(file, offset, data, writable); blocked >= 0; blocked = pages.write(file, offset, data, writable)) {
      await writeBack.flush(key, { start: blocked * PAGE_SIZE, end: (blocked + 1) * PAGE_SIZE });
      file = this.fileForWrite(key, fileRefOf(vop, ino));
    }
  }

  /** The file's pages, named by this write's handle: flushes go through the handle of the latest write. */
  private fileForWrite(key: string, ref: FileRef): FilePages {
    const file = this.core.pages.fileFor(key, ref);
    file.ref = ref;
    return file;
  }

  private checkNotFenced(op: string): void {
    if (this.core.client.isFenced()) throw new SessionLostError('LEASE_DEADLINE_PASSED', 'agent is fenced: no cached writes', { op });
  }
}

/** Both tokens (attr and data) are DIRECT: the op goes straight to the backing store. */
function isDirect(uses: readonly TokenUse[]): boolean {
  return uses.every((u) => u.token.mode === 'DIRECT');
}

