import { constants, promises as fsp } from 'fs';
import * as nodePath from 'path';
import { Logger } from '../common/logger';
import { InodeMap } from './inode-map';
import { sha256File, walkTree } from './tree-walk';

/**
 * Makes the mirror a copy of the backing store (HAMMER's full resync):
 * copies files whose size or content differ, recreates entries whose type
 * or symlink target differ, sets permission bits, removes what the backing
 * store does not have. Returns the inode map of the copy (backing inode →
 * mirror path). The backing store may change meanwhile: the replica then
 * replays the journals from just before the scan (docs/replication.md).
 */
export async function rescanMirror(backingDir: string, mirrorDir: string, logger: Logger): Promise<InodeMap> {
  const started = Date.now();
  const backing = await walkTree(backingDir);
  const mirror = await walkTree(mirrorDir);
  const inodes = new InodeMap();
  let copied = 0;
  // Remove first, deepest first: what is gone, or has another type now.
  for (const rel of [...mirror.keys()].reverse()) {
    const b = backing.get(rel);
    const m = mirror.get(rel)!;
    if (rel !== '' && (!b || b.type !== m.type || (b.type === 'symlink' && b.target !== m.target))) {
      await fsp.rm(nodePath.join(mirrorDir, rel), { recursive: true, force: true });
      mirror.delete(rel);
    }
  }
  for (const [rel, b] of backing) {
    const src = rel === '' ? backingDir : nodePath.join(backingDir, rel);
    const dst = rel === '' ? mirrorDir : nodePath.join(mirrorDir, rel);
    const m = mirror.get(rel);
    try {
      if (b.type === 'dir') {
        if (!m) await fsp.mkdir(dst, { recursive: true });
        if (rel !== '') await fsp.chmod(dst, b.mode);
      } else if (b.type === 'symlink') {
        if (!m) await fsp.symlink(b.target ?? '', dst);
      } else if (b.type === 'file') {
        if (!m || m.size !== b.size || (await sha256File(src)) !== (await sha256File(dst))) {
          await fsp.copyFile(src, dst, constants.COPYFILE_FICLONE);
          copied++;
        }
        await fsp.chmod(dst, b.mode);
      } else {
        logger.warn('special file not replicated', { path: '/' + rel });
        continue;
      }
      inodes.linked(b.ino, rel);
    } catch (e) {
      // Changed under the scan (renamed, removed): the journal replay that follows brings it back in line.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  logger.info('mirror rescanned', { entries: backing.size, copied, ms: Date.now() - started });
  return inodes;
}
