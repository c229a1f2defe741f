import { compareTokens } from './conflict-keys';
import type { PendingRecord } from './apply-order';

const CREATES = new Set(['create', 'mkdir', 'mknod', 'symlink']);

/**
 * `b` touches the inode that create-like `a` made, under a token granted
 * after `a`'s: `b` must then be applied after `a`. Another host learns a
 * new file's name by a lookup, which takes no token and is not journaled,
 * so no conflict key orders its first write after the create; and the
 * backing store reuses inode numbers, so applied before the create, that
 * write would land on (or be skipped as a write to) the number's previous,
 * removed file.
 *
 * This edge is soft (apply-order.ts): the create's token is its parent's
 * dir token, which its host may have held for long, so a record of the
 * number's previous file can carry a later token and yet have to go before
 * the create (before the unlink that freed the number). The hard rules win
 * where the two disagree.
 */
export function followsCreate(a: PendingRecord, b: PendingRecord): boolean {
  if (a.agentId === b.agentId || !CREATES.has(a.record.op)) return false;
  const ino = a.record.ino;
  const made = a.record.fencingToken;
  if (ino === null || !made) return false;
  return b.keys.some((k) => k.ino === ino && compareTokens(made, k.token) < 0);
}
