import { constants } from 'os';
import { errnoNameOf } from '../../common/errno-table';

const ERRNO = constants.errno as Record<string, number>;
const EIO = ERRNO.EIO;

/** The negative errno for anything thrown (the table in errno-table.ts decides the name). */
export function fuseErrnoOf(e: unknown): { name: string; code: number } {
  const name = errnoNameOf(e);
  const n = ERRNO[name];
  return typeof n === 'number' && n > 0 ? { name, code: -n } : { name: 'EIO', code: -EIO };
}

export function fuseErrno(name: string): number {
  return -(ERRNO[name] ?? EIO);
}
