import { ByteRange, END_OF_FILE, isValidOffset, WHOLE_FILE } from '../../common/byte-range';
import { SessionLostError } from '../../common/errors';
import type { Next, VopOf } from '../vop';
import type { CoherencyCore } from './coherency-core';
import type { HeldToken, TokenMode, TokenRequest, TokenUse } from './held-token';
import { LARGE_IO_BYTES, LargeIo } from './large-io';
import { FilePages, FileRef, PAGE_SIZE } from './page';

/** A sequential small read that misses reads this much past its own pages, into the cache. */
const READ_AHEAD_BYTES = 128 * 1024;

/** Flushes of dirty pages in a small read's range before it reads around them straight from the store (readCached). */
const MAX_FLUSH_ROUNDS = 4;

const alignDown = (n: number): number => Math.floor(n / PAGE_SIZE) * PAGE_SIZE;
const alignUp = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/**
 * The data path under tokens: reads (data READ) from the page cache,
 * writes (data WRITE, plus attr WRITE when they extend the file) into
 * write-back, large reads, O_APPEND and uncached files straight to the
 * backing store, truncate; under DIRECT tokens (contended files) all of
 * it straight to the backing store (direct-io.ts). Large writes stay buffered: a write(2) arrives
 * in several FUSE requests, and writing them through one by one would let
 * another host see half of it after this agent dies (coherent-crash e2e).
 */
export class DataOps {
  private readonly large: LargeIo;

  constructor(private readonly core: CoherencyCore) {
    this.large = new LargeIo(core);
  }

  async read(vop: VopOf<'read'>, next: Next, ino: number): Promise<number> {
    const { offset, length, buffer } = vop.args;
    if (!isValidOffset(offset) || !Number.isInteger(length) || length <= 0 || !Buffer.isBuffer(buffer) || buffer.length < length) {
      return (await next(vop)) as number; // the backing store answers bad input with its own error
    }
    const { tokens } = this.core;
    const key = this.core.resourceOf(ino);
    const kernelPages = this.core.kernel.pages;
    const range = { start: alignDown(offset), end: alignUp(offset + length) };
    // While the kernel caches the file's pages (a cached open), they must lie under one whole-file token (kernel-pages.ts).
    const dataReq = req(key, 'data', 'READ', kernelPages.wholeFileReads(key) ? WHOLE_FILE : range);
    const use = tokens.tryUse(dataReq) ?? (await tokens.use(dataReq, vop.signal));
    try {
      // A cached open meets DIRECT: its pages are revalidated by read(2) only (kernel-pages.ts), so the kernel may
      // keep no attributes from before (given under an attr token that another host's DIRECT write never revokes).
      if (use.token.mode === 'DIRECT' && kernelPages.wholeFileReads(key)) await this.core.kernel.dropAttrs(key);
      const n = await this.readUnder(vop, next, ino, key, range, use.token);
      kernelPages.served(key, use.token);
      return n;
    } finally {
      use.done();
    }
  }

  private async readUnder(vop: VopOf<'read'>, next: Next, ino: number, key: string, range: ByteRange, token: HeldToken): Promise<number> {
    const { tokens, writeBack } = this.core;
    if (token.mode === 'DIRECT') return this.core.direct.read(vop, next, key);
    if (tokens.isUncached(key)) {
      await writeBack.flush(key, { start: vop.args.offset, end: END_OF_FILE });
      this.dropCleanPages(key);
      return (await next(vop)) as number;
    }
    if (vop.args.length >= LARGE_IO_BYTES) return this.large.read(vop, next, key);
    return this.readCached(vop, next, ino, key, range, token);
  }

  /**
   * A small read: from the page cache, or from the backing store into it
   * (with read-ahead when sequential). This host's dirty bytes in the range
   * the backing read covers are flushed first: a flush that ended while
   * the read was out cleans their pages (an unfilled one is gone), which
   * then no longer lie over what the read may have read before the flush,
   * and the old bytes would be served and cached (chaos seed 17 with
   * --kernel-page-cache: a host's own write unseen by its readers until
   * its token went). A write during the read changes writeGeneration: not
   * cached. After MAX_FLUSH_ROUNDS (writes keep coming), straight from the
   * store.
   */
  private async readCached(vop: VopOf<'read'>, next: Next, ino: number, key: string, range: ByteRange, token: HeldToken): Promise<number> {
    const { offset, length, buffer } = vop.args;
    const { tokens, pages, writeBack } = this.core;
    // Where the file ends is known only under a token reaching END_OF_FILE (it may shrink while we wait).
    const reachesEof = (): boolean => token.alive && token.range.end === END_OF_FILE;
    for (let round = 0; ; round++) {
      const cachedFile = pages.file(key);
      const hit = cachedFile && pages.readCached(cachedFile, offset, length, reachesEof());
      if (hit) {
        cachedFile.readEnd = offset + hit.length;
        return hit.copy(buffer);
      }
      const before = pages.fileFor(key, refOf(vop, ino));
      // Ahead only as far as the token reaches: pages outside it could not be cached anyway.
      const aheadEnd = before.readEnd === offset ? Math.max(range.end, Math.min(range.end + READ_AHEAD_BYTES, alignDown(token.range.end))) : range.end;
      const span = { start: range.start, end: aheadEnd };
      if (pages.hasDirtyIn(before, span)) {
        if (round === MAX_FLUSH_ROUNDS) return this.large.read(vop, next, key);
        await writeBack.flush(key, span);
        continue;
      }
      const generation = before.writeGeneration;
      const tmp = Buffer.allocUnsafe(aheadEnd - range.start);
      const backingRead: VopOf<'read'> = { op: 'read', path: vop.path, ino: vop.ino, args: { fh: vop.args.fh, buffer: tmp, offset: range.start, length: tmp.length }, signal: vop.signal };
      const n = (await next(backingRead)) as number;
      const file = pages.fileFor(key, refOf(vop, ino));
      const out = pages.readThrough(file, offset, length, tmp.subarray(0, n), {
        allowShort: reachesEof(),
        generation,
        cacheable: (index) => token.alive && !tokens.isUncached(key) && token.range.start <= index * PAGE_SIZE && (index + 1) * PAGE_SIZE <= token.range.end,
      });
      file.readEnd = offset + out.length;
      return out.copy(buffer);
    }
  }

  async write(vop: VopOf<'write'>, next: Next, ino: number, append: boolean): Promise<number> {
    const { data, offset } = vop.args;
    if (!Buffer.isBuffer(data) || data.length === 0 || !isValidOffset(offset) || offset + data.length > Number.MAX_SAFE_INTEGER) {
      return (await next(vop)) as number;
    }
    if (append) return this.append(vop, next, ino);
    const { tokens, pages, writeBack, attrs } = this.core;
    const key = this.core.resourceOf(ino);
    const end = offset + data.length;
    // READ unless this host already holds WRITE (no network either way): most writes extend the file.
    let attrMode: TokenMode = tokens.find(req(key, 'attr', 'WRITE', WHOLE_FILE)) ? 'WRITE' : 'READ';
    for (;;) {
      const reqs = [req(key, 'data', 'WRITE', { start: offset, end }), req(key, 'attr', attrMode, WHOLE_FILE)];
      const uses = tokens.tryUseAll(reqs) ?? (await tokens.useAll(reqs, vop.signal));
      try {
        if (isDirect(uses)) return await this.core.direct.write(vop, next, key, uses[0].token.fencingToken);
        const size = (uses[1].token.mode !== 'DIRECT' ? this.knownSize(key) : undefined) ?? (await this.sizeOf(key, refOf(vop, ino), uses[1]));
        if (end > size && attrMode === 'READ') {
          attrMode = 'WRITE'; // extending: retry holding attr WRITE (uses are released by finally)
          continue;
        }
        this.checkNotFenced(vop.op);
        vop.fencingToken = uses[0].token.fencingToken;
        if (tokens.isUncached(key) || uses[0].token.mode === 'DIRECT') {
          await writeBack.flush(key, { start: offset, end });
          this.dropCleanPages(key);
          let n: number;
          try {
            n = (await next(vop)) as number;
          } finally {
            this.core.direct.dropAfterChange(key); // a read beside it may have cached the old bytes (direct-io.ts)
          }
          if (end > size) attrs.setSize(key, end, n);
          return n;
        }
        let file = this.fileForWrite(key, refOf(vop, ino));
        const writable = uses[0].token.range;
        for (let blocked = pages.write(file, offset, data, writable); blocked >= 0; blocked = pages.write(file, offset, data, writable)) {
          await writeBack.flush(key, { start: blocked * PAGE_SIZE, end: (blocked + 1) * PAGE_SIZE });
          file = this.fileForWrite(key, refOf(vop, ino));
        }
        if (end > size) attrs.setSize(key, end, data.length);
        await writeBack.dirtied(key);
        return data.length;
      } finally {
        for (const u of uses) u.done();
      }
    }
  }

  /**
   * O_APPEND: the backing handle appends at its end of file, which is this
   * host's known size once its dirty data is flushed. Written through under
   * attr WRITE and data WRITE from that size to END_OF_FILE.
   */
  private async append(vop: VopOf<'write'>, next: Next, ino: number): Promise<number> {
    const { tokens, pages, writeBack, attrs } = this.core;
    const key = this.core.resourceOf(ino);
    let from = attrs.get(key)?.size ?? 0;
    for (;;) {
      const uses = await tokens.useAll([req(key, 'attr', 'WRITE', WHOLE_FILE), req(key, 'data', 'WRITE', { start: from, end: END_OF_FILE })], vop.signal);
      try {
        if (isDirect(uses)) return await this.core.direct.append(vop, next, key, refOf(vop, ino), uses[1].token.fencingToken);
        const size = await this.sizeOf(key, refOf(vop, ino), uses[0]);
        if (size < from) {
          from = size;
          continue;
        }
        this.checkNotFenced(vop.op);
        vop.fencingToken = uses[1].token.fencingToken;
        await writeBack.flush(key);
        const file = pages.file(key);
        if (file) {
          pages.dropRange(file, { start: size, end: END_OF_FILE }, true);
          pages.forgetEof(file);
        }
        vop.args.offset = size; // where O_APPEND puts the data (the backing ignores it): the journal records it
        const n = (await next(vop)) as number;
        attrs.setSize(key, size + n, n);
        return n;
      } finally {
        for (const u of uses) u.done();
      }
    }
  }

  /** truncate/ftruncate: attr WRITE and data WRITE from the lower of old and new size to END_OF_FILE. */
  async truncate(vop: VopOf<'truncate'>, next: Next, ino: number): Promise<void> {
    const newSize = vop.args.size;
    if (!isValidOffset(newSize) || newSize > Number.MAX_SAFE_INTEGER) return (await next(vop)) as void;
    const { tokens, pages, writeBack, attrs } = this.core;
    const key = this.core.resourceOf(ino);
    let from = newSize;
    for (;;) {
      const uses = await tokens.useAll([req(key, 'attr', 'WRITE', WHOLE_FILE), req(key, 'data', 'WRITE', { start: from, end: END_OF_FILE })], vop.signal);
      try {
        if (isDirect(uses)) return await this.core.direct.truncate(vop, next, key, uses[1].token.fencingToken);
        const size = await this.sizeOf(key, refOf(vop, ino), uses[0]);
        if (size < from) {
          from = size;
          continue;
        }
        this.checkNotFenced(vop.op);
        vop.fencingToken = uses[1].token.fencingToken;
        // Dirty bytes past the new size are written first, so a failed truncate loses nothing.
        await writeBack.flush(key, { start: newSize, end: END_OF_FILE });
        await next(vop);
        const file = pages.file(key);
        if (file) pages.truncate(file, newSize);
        attrs.setSize(key, newSize);
        return;
      } finally {
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

  /** The file's pages, named by this write's handle: flushes go through the handle of the latest write. */
  private fileForWrite(key: string, ref: FileRef): FilePages {
    const file = this.core.pages.fileFor(key, ref);
    file.ref = ref;
    return file;
  }

  private dropCleanPages(key: string): void {
    const file = this.core.pages.file(key);
    if (file) this.core.pages.dropRange(file, WHOLE_FILE, true);
  }

  private checkNotFenced(op: string): void {
    if (this.core.client.isFenced()) throw new SessionLostError('LEASE_DEADLINE_PASSED', 'agent is fenced: no cached writes', { op });
  }
}

/** Both tokens (attr and data) are DIRECT: the op goes straight to the backing store. */
function isDirect(uses: readonly TokenUse[]): boolean {
  return uses.every((u) => u.token.mode === 'DIRECT');
}

function req(resource: string, space: TokenRequest['space'], mode: TokenMode, range: ByteRange): TokenRequest {
  return { resource, space, mode, range };
}

function refOf(vop: VopOf<'read'> | VopOf<'write'> | VopOf<'truncate'>, ino: number): FileRef {
  return { ino, path: vop.path, fh: vop.args.fh };
}
