import { constants, promises as fsp } from 'fs';
import type { FileHandle } from 'fs/promises';

/** Linux O_PATH (x86-64, arm64); Node does not export it. */
export const O_PATH = 0o10000000;

/**
 * Runs fn with a short path to a directory deep in the backing store:
 * `/proc/self/fd/<n>` of an O_PATH descriptor reached from `root` one
 * component at a time. The kernel limits the string of each system call to
 * PATH_MAX, not a tree's depth, so a name whose backing path (root prefix
 * included) is longer than one call takes is reached this way. Each step
 * opens with O_NOFOLLOW|O_DIRECTORY: a symlink on the way is ENOTDIR, never
 * followed, so the walk stays inside `root` (components are checked names,
 * no '..'). The descriptor is closed once fn settles.
 */
export async function withDirDescriptor<T>(root: string, dirParts: string[], fn: (dirPath: string, dir: FileHandle) => Promise<T>): Promise<T> {
  let dir = await fsp.open(root, O_PATH | constants.O_DIRECTORY);
  try {
    for (const part of dirParts) {
      const next = await fsp.open(`/proc/self/fd/${dir.fd}/${part}`, O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      const previous = dir;
      dir = next;
      await previous.close();
    }
    return await fn(`/proc/self/fd/${dir.fd}`, dir);
  } finally {
    await dir.close().catch(() => undefined);
  }
}
