import { closeSync, fsyncSync, openSync, promises as fsp } from 'fs';
import * as nodePath from 'path';

/**
 * Replaces `file` with `text` so that a crash leaves either the old or the
 * new content, and the new one survives once this resolves: write a
 * temporary file, fsync it, rename it over `file`, fsync the directory.
 */
export async function writeFileDurably(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const h = await fsp.open(tmp, 'w');
  try {
    await h.writeFile(text);
    await h.sync();
  } finally {
    await h.close();
  }
  await fsp.rename(tmp, file);
  const fd = openSync(nodePath.dirname(file), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
