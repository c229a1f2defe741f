import { END_OF_FILE } from '../../common/byte-range';
import type { Next, VopOf } from '../vop';
import type { CoherencyCore } from './coherency-core';

/**
 * Reads of at least this many bytes go straight from the backing file into
 * the FUSE buffer. With direct_io the kernel sends a sequential read as
 * 128 KiB requests; copying each page by page through the cache cost about
 * 3× a plain passthrough, and a stream would only evict what the cache is
 * good for (small, repeated reads).
 *
 * Writes are not bypassed: one write(2) arrives as several FUSE requests,
 * and writing them through one by one would let another host see half of it
 * after this agent dies, where write-back loses all of it or none.
 */
export const LARGE_IO_BYTES = 64 * 1024;

/**
 * The large-read path, run while the caller holds the same data READ token
 * as for a cached read, so coherency is unchanged: only where the bytes
 * come from differs. The backing file is what every host reads under a
 * token (other hosts flush before giving theirs up), and clean cached pages
 * equal it, so it may be read directly once this host's own dirty bytes
 * there are flushed.
 */
export class LargeIo {
  constructor(private readonly core: CoherencyCore) {}

  /**
   * Reads from the backing file into the caller's buffer. Dirty bytes at or
   * past the offset are flushed first: those in range must be read back,
   * and those beyond it make the file longer, which a short backing read
   * would not show (the hole reads as zeros only once they are written).
   */
  async read(vop: VopOf<'read'>, next: Next, key: string): Promise<number> {
    const { pages, writeBack } = this.core;
    const file = pages.file(key);
    if (file && file.dirtyEnd > vop.args.offset) await writeBack.flush(key, { start: vop.args.offset, end: END_OF_FILE });
    return (await next(vop)) as number;
  }
}
