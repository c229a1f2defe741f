import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { JOURNAL_META, JournalMeta } from '../agent/journal/journal-codec';

export interface FoundJournal {
  agentId: string;
  dir: string;
}

/**
 * Finds the agents' journal directories of a namespace under `roots`: a
 * root is either a journal directory itself (it holds journal-meta.json) or
 * a directory searched two levels down (e.g. a directory of agents' state
 * directories). Called again every few seconds, so new agents are picked up.
 */
export async function discoverJournals(roots: string[], namespace: string): Promise<FoundJournal[]> {
  const found = new Map<string, FoundJournal>();
  const visit = async (dir: string, depth: number): Promise<void> => {
    const meta = await readMeta(dir);
    if (meta) {
      if (meta.namespace === namespace && !found.has(meta.agentId)) found.set(meta.agentId, { agentId: meta.agentId, dir });
      return;
    }
    if (depth === 0) return;
    const entries = await fsp.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await visit(nodePath.join(dir, e.name), depth - 1);
  };
  for (const root of roots) await visit(nodePath.resolve(root), 2);
  return [...found.values()].sort((a, b) => a.agentId.localeCompare(b.agentId));
}

export async function readMeta(dir: string): Promise<JournalMeta | undefined> {
  try {
    const meta = JSON.parse(await fsp.readFile(nodePath.join(dir, JOURNAL_META), 'utf8')) as JournalMeta;
    return typeof meta.agentId === 'string' && typeof meta.namespace === 'string' ? meta : undefined;
  } catch {
    return undefined;
  }
}
