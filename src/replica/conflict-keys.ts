import { FencingToken } from '../coordinator/lock-table/types';
import { JournalRecord } from '../agent/journal/journal-record';

/** What a record touched under which token: two records conflict when their keys overlap. */
export interface ConflictKey {
  ino: number;
  space: string;
  start: number;
  end: number;
  token: FencingToken;
}

const END = Number.MAX_SAFE_INTEGER;
const DIR_OPS = new Set(['create', 'mkdir', 'mknod', 'symlink', 'unlink', 'rmdir', 'rename', 'link']);

/**
 * The tokens a record ran under, by resource, space and range (DESIGN §2):
 * a write holds data on its bytes, truncate data from its size to the end
 * (the whole file here: the old size is not journaled), chmod/chown/
 * utimens/xattrs attr, directory changes dir on the parent(s) plus attr
 * (and data, for unlink/rmdir) on the entry's inode. A record without a
 * token (no coherency hook) has no key and is ordered only by its host's
 * sequence.
 */
export function conflictKeys(r: JournalRecord): ConflictKey[] {
  if (r.resourceTokens && r.resourceTokens.length > 0) {
    return r.resourceTokens.map((t) => ({ ino: t.ino, space: t.space, start: 0, end: END, token: t.token }));
  }
  const token = r.fencingToken;
  if (!token || r.ino === null) return [];
  switch (r.op) {
    case 'write': {
      const offset = Number(r.args.offset);
      const length = Number((r.args.data as { length?: unknown } | undefined)?.length);
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length)) return [];
      return [{ ino: r.ino, space: 'data', start: offset, end: offset + length, token }];
    }
    case 'truncate':
    case 'fallocate':
      return [{ ino: r.ino, space: 'data', start: 0, end: END, token }];
    default:
      if (DIR_OPS.has(r.op)) {
        // Only the first token is known: it is the (source) parent's dir token.
        return r.parentIno === undefined ? [] : [{ ino: r.parentIno, space: 'dir', start: 0, end: END, token }];
      }
      return [{ ino: r.ino, space: 'attr', start: 0, end: END, token }];
  }
}

export function compareTokens(a: FencingToken, b: FencingToken): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.counter - b.counter;
}

export function keysConflict(a: ConflictKey, b: ConflictKey): boolean {
  return a.ino === b.ino && a.space === b.space && a.start < b.end && b.start < a.end;
}
