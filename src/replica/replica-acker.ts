import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { REPLICAS_DIR, ReplicaAck } from '../agent/journal/journal-codec';

/**
 * Registers the replica on an agent's journal and acknowledges applied
 * records: `<journal>/replicas/<name>.json`, replaced by rename so the agent
 * never reads half a file. Written only after the mirror and the cursor
 * are durable, so an ack never claims more than a crash would keep.
 */
export async function writeAck(journalDir: string, ack: ReplicaAck): Promise<void> {
  const dir = nodePath.join(journalDir, REPLICAS_DIR);
  await fsp.mkdir(dir, { recursive: true });
  const file = nodePath.join(dir, `${ack.name}.json`);
  await fsp.writeFile(`${file}.tmp`, JSON.stringify(ack));
  await fsp.rename(`${file}.tmp`, file);
}

/** Removes a replica's registration from a journal: the agent no longer keeps records for it, nor waits for it. */
export async function removeAck(journalDir: string, name: string): Promise<boolean> {
  const file = nodePath.join(journalDir, REPLICAS_DIR, `${name}.json`);
  try {
    await fsp.unlink(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
