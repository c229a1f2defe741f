import { InternalError } from '../../common/errors';
import type { BackingStore } from '../backing/backing-store';
import type { VopStat } from '../vop';
import type { FileRef } from './page';

/**
 * What the coherency layer does to the backing store outside a vop's own
 * `next` call: write-back flushes (later, from a timer or a revoke) and
 * size checks before a write decides whether it extends the file.
 */
export interface CoherencyBacking {
  /** One pwrite of `data` at `offset` through the file's open handle (FileRef.fh). */
  write(file: FileRef, offset: number, data: Buffer): Promise<void>;
  /** The file's attributes (through FileRef.fh when set, else by path). */
  stat(file: FileRef): Promise<VopStat>;
  /** fdatasync through the file's open handle: write-back starts the disk writing early (write-back.ts, earlySyncBytes). */
  datasync?(file: FileRef): Promise<void>;
}

/**
 * CoherencyBacking over the agent's BackingStore. Its ops are never
 * cancelled: a flush that started must finish (a half-written page is worse
 * than a late reply), and the self-fencing check runs before each one.
 */
export function coherencyBackingOf(store: BackingStore): CoherencyBacking {
  const signal = new AbortController().signal;
  return {
    async write(file, offset, data) {
      if (file.fh === undefined) throw new InternalError('INTERNAL', 'write-back without an open handle', { ino: file.ino, path: file.path });
      await store.execute({ op: 'write', path: file.path, ino: file.ino, args: { fh: file.fh, data, offset }, signal });
    },
    async datasync(file) {
      if (file.fh === undefined) throw new InternalError('INTERNAL', 'write-back sync without an open handle', { ino: file.ino, path: file.path });
      await store.execute({ op: 'fsync', path: file.path, ino: file.ino, args: { fh: file.fh, datasync: true }, signal });
    },
    async stat(file) {
      const args = file.fh === undefined ? {} : { fh: file.fh };
      return (await store.execute({ op: 'getattr', path: file.path, ino: file.ino, args, signal })) as VopStat;
    },
  };
}
