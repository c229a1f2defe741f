import { read as fsRead } from 'fs';
import { constants } from 'os';
import { checkOffset } from './backing-limits';
import { backingSys, checkSys } from './backing-sys';
import { ErrnoError } from './errno-error';
import type { HandleTable } from './handle-table';
import type { VopArgs, VopResults } from '../vop';

const { ENOSYS, EXDEV, EOPNOTSUPP } = constants.errno;

/**
 * copy_file_range(2) between two open handles, in the kernel (libuv's
 * pool), at most `maxLength` bytes per call (the caller gets a short count
 * and asks again, as copy_file_range allows). The copied bytes are then
 * read back from the source, so the journal can carry them as a write:
 * the caller holds the tokens that keep both ranges still (coherency
 * copy-range-op.ts). Errors are the system call's: EBADF for a source not
 * open for reading or a destination not open for writing (or O_APPEND),
 * EINVAL for flags or an overlapping copy within one file, EISDIR; a
 * backing store that cannot copy (ENOSYS, EXDEV, EOPNOTSUPP) gives
 * EOPNOTSUPP, which makes the kernel copy through READ and WRITE for this
 * call only (ENOSYS would make it stop asking for the mount's lifetime).
 */
export async function copyFileRange(handles: HandleTable, args: VopArgs['copyFileRange'], maxLength: number): Promise<VopResults['copyFileRange']> {
  if (args.flags !== 0) throw new ErrnoError('EINVAL', 'copy_file_range flags must be 0');
  const offsetIn = checkOffset(args.offsetIn, 'offsetIn');
  const offset = checkOffset(args.offset, 'offset');
  const length = Math.min(checkOffset(args.length, 'length'), maxLength);
  const source = handles.get(args.fhIn);
  const dest = handles.get(args.fh);
  if (length === 0) return { copied: 0, bytes: Buffer.alloc(0) };
  const copied = await backingSys().copyFileRangeAsync(source.handle.fd, offsetIn, dest.handle.fd, offset, length);
  if (copied === -ENOSYS || copied === -EXDEV || copied === -EOPNOTSUPP) throw new ErrnoError('EOPNOTSUPP', 'backing store cannot copy_file_range');
  checkSys(copied, 'copy_file_range');
  const bytes = Buffer.allocUnsafe(copied);
  let done = 0;
  while (done < copied) {
    const n = await pread(source.handle.fd, bytes, done, copied - done, offsetIn + done);
    if (n === 0) break; // the source shrank since: nothing to read back past its end
    done += n;
  }
  if (done < copied) throw new ErrnoError('EIO', 'copy_file_range source shrank before its bytes were read back');
  return { copied, bytes };
}

function pread(fd: number, buffer: Buffer, at: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fsRead(fd, buffer, at, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}
