import { createHash } from 'crypto';
import { createReadStream, promises as fsp, Stats } from 'fs';
import * as nodePath from 'path';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface TreeEntry {
  type: EntryType;
  size: number;
  /** Permission bits. */
  mode: number;
  ino: number;
  /** Symlink target. */
  target?: string;
}

/** Every entry under `root` (lstat), by path relative to it; the root itself is ''. */
export async function walkTree(root: string): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  const visit = async (rel: string): Promise<void> => {
    const abs = rel === '' ? root : nodePath.join(root, rel);
    let st: Stats;
    try {
      st = await fsp.lstat(abs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // removed while we walked
      throw e;
    }
    const entry: TreeEntry = { type: typeOf(st), size: st.isDirectory() ? 0 : st.size, mode: st.mode & 0o7777, ino: st.ino };
    if (entry.type === 'symlink') entry.target = await fsp.readlink(abs).catch(() => '');
    out.set(rel, entry);
    if (entry.type !== 'dir') return;
    const names = await fsp.readdir(abs).catch(() => [] as string[]);
    for (const name of names.sort()) await visit(rel === '' ? name : `${rel}/${name}`);
  };
  await visit('');
  return out;
}

function typeOf(st: Stats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('error', reject).on('data', (d) => hash.update(d)).on('end', () => resolve(hash.digest('hex')));
  });
}
