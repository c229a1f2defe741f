import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { InternalError } from '../../common/errors';
import { JOURNAL_META, JournalMeta, segmentFirstSequence } from './journal-codec';

/* The files of one agent's journal directory besides the records: segment names, the meta file. */

/** First sequences of the segment files in `dir`, ascending. */
export async function listSegments(dir: string): Promise<number[]> {
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  return names.map(segmentFirstSequence).filter((n): n is number => n !== undefined).sort((a, b) => a - b);
}

/** The journal's identity (made once: the agent id survives restarts); refuses another namespace's journal. */
export async function loadMeta(dir: string, namespace: string): Promise<JournalMeta> {
  const file = nodePath.join(dir, JOURNAL_META);
  try {
    const meta = JSON.parse(await fsp.readFile(file, 'utf8')) as JournalMeta;
    if (meta.namespace !== namespace) {
      throw new InternalError('INTERNAL', 'journal directory belongs to another namespace', { dir, journalNamespace: meta.namespace, namespace });
    }
    return meta;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const meta: JournalMeta = { agentId: `${os.hostname()}-${randomBytes(4).toString('hex')}`, namespace, createdMs: Date.now() };
  await fsp.writeFile(`${file}.tmp`, JSON.stringify(meta));
  await fsp.rename(`${file}.tmp`, file);
  await syncDir(dir);
  return meta;
}

/** fsync of a directory, so names created or removed in it are durable. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
