import type { VopBuilder } from '../vop-builder';
import type { VopRunner } from '../../vop';
import type { FileTailReader, LastByteReader } from './kernel-page-cache';
import type { PathNode } from './path-node-table';

/**
 * What the page cache reads of a file before it tells the kernel its size
 * (notify_store of the last byte: kernel-page-cache.ts), through the hook
 * chain like any read.
 */
export class FileTail {
  constructor(private readonly run: VopRunner, private readonly vops: VopBuilder) {}

  /** The file's size through handle `fh`, and its last byte through a cached read handle (KernelPageCache.storeTail). */
  afterWrite(nd: PathNode, fh: number): FileTailReader {
    return async (readFh) => {
      const st = await this.run(this.vops.onHandle('getattr', nd.path, fh, { fh }));
      if (st.size <= 0) return undefined;
      const last = await this.byteOf(nd)(readFh, st.size - 1);
      return last ? { size: st.size, last } : undefined;
    };
  }

  /** One byte of the file through read handle `readFh` (KernelPageCache, before a GETATTR reply). */
  byteOf(nd: PathNode): LastByteReader {
    return async (readFh, offset) => {
      const last = Buffer.alloc(1);
      const n = await this.run(this.vops.onHandle('read', nd.path, readFh, { fh: readFh, buffer: last, length: 1, offset }));
      return n === 1 ? last : undefined;
    };
  }
}
