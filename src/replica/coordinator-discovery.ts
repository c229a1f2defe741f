import { parseAgentClientName } from '../agent/journal/journal-advert';
import { FoundJournal, readMeta } from './journal-discovery';

/** The sessions the coordinator lists (AdminClient.listSessions, or anything answering the same). */
export type ListSessions = () => Promise<Record<string, unknown>>;

export interface CoordinatorDiscovery {
  /** Journals of the namespace that live agent sessions advertise and that this host can read now. */
  found: FoundJournal[];
  /** Advertised journals this host could not read (not there yet, another namespace's meta, unmounted export). */
  unreadable: string[];
}

/**
 * Finds agents through the coordinator (docs/replication.md): every live
 * agent session advertises its journal directory in its client name; the
 * directory's journal-meta.json must name the same namespace. A dead agent
 * is no longer listed: the replica keeps following it from the directory
 * it saved (replica-follower.ts).
 */
export async function discoverThroughCoordinator(listSessions: ListSessions, namespace: string): Promise<CoordinatorDiscovery> {
  const res = await listSessions();
  const sessions = Array.isArray(res.sessions) ? (res.sessions as Array<Record<string, unknown>>) : [];
  const dirs = new Set<string>();
  for (const s of sessions) {
    const advert = parseAgentClientName(String(s.clientName ?? ''));
    if (advert?.namespace === namespace && advert.journal) dirs.add(advert.journal);
  }
  const found = new Map<string, FoundJournal>();
  const unreadable: string[] = [];
  for (const dir of [...dirs].sort()) {
    const meta = await readMeta(dir);
    if (meta?.namespace !== namespace) unreadable.push(dir);
    else if (!found.has(meta.agentId)) found.set(meta.agentId, { agentId: meta.agentId, dir });
  }
  return { found: [...found.values()], unreadable };
}
