import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { NewOwner } from '../vop';
import { checkId } from './backing-limits';

const S_ISGID = 0o2000;

/**
 * Gives a just-created entry to the caller (NewOwner): uid always, gid
 * unless the directory is setgid (then the group the backing filesystem
 * inherited stays, as on a local filesystem). chown clears S_ISUID/S_ISGID
 * of a regular file, so callers set the mode after this. Without `handle`
 * the entry is changed with lchown (never follows a symlink).
 */
export async function chownNew(resolved: string, owner: NewOwner | undefined, handle?: fsp.FileHandle): Promise<boolean> {
  if (owner === undefined) return false;
  const uid = checkId(owner.uid, 'uid');
  const gid = checkId(owner.gid, 'gid');
  const parent = await fsp.stat(nodePath.dirname(resolved));
  const keepGroup = (parent.mode & S_ISGID) !== 0 ? -1 : gid;
  if (handle) await handle.chown(uid, keepGroup);
  else await fsp.lchown(resolved, uid, keepGroup);
  return true;
}
