import { Clock } from '../common/clock';
import { Logger } from '../common/logger';
import { discoverThroughCoordinator, ListSessions } from './coordinator-discovery';
import { discoverJournals, FoundJournal, readMeta } from './journal-discovery';

export interface AgentFinderOptions {
  namespace: string;
  /** --journals: directories searched for journal directories. */
  journalRoots: string[];
  /** --coordinator: the live agent sessions and the journals they advertise. */
  listSessions?: ListSessions;
  clock: Clock;
  logger: Logger;
}

/**
 * Where the replica's agents are: the journal directories under --journals,
 * those live agent sessions advertise through the coordinator, and those the
 * replica already follows (saved in its state: a dead agent, no longer
 * listed, is followed on from its directory).
 */
export class AgentFinder {
  /** Why the last look through the coordinator failed; undefined while it answers. */
  coordinatorError: string | undefined;
  /** When the coordinator last answered (clock ms); undefined before the first answer. */
  coordinatorOkMs: number | undefined;
  private readonly unreadableLogged = new Set<string>();

  constructor(private readonly o: AgentFinderOptions) {}

  get usesCoordinator(): boolean {
    return this.o.listSessions !== undefined;
  }

  async find(known: FoundJournal[]): Promise<FoundJournal[]> {
    const found = new Map<string, FoundJournal>();
    const add = (j: FoundJournal) => { if (!found.has(j.agentId)) found.set(j.agentId, j); };
    if (this.o.journalRoots.length > 0) for (const j of await discoverJournals(this.o.journalRoots, this.o.namespace)) add(j);
    if (this.o.listSessions) {
      try {
        const r = await discoverThroughCoordinator(this.o.listSessions, this.o.namespace);
        if (this.coordinatorError) this.o.logger.info('coordinator answers again', {});
        this.coordinatorError = undefined;
        this.coordinatorOkMs = this.o.clock.nowMs();
        r.found.forEach(add);
        for (const dir of r.unreadable) {
          if (this.unreadableLogged.has(dir)) continue;
          this.unreadableLogged.add(dir);
          this.o.logger.warn('advertised journal not readable here (yet)', { dir });
        }
      } catch (e) {
        const error = (e as Error).message;
        if (this.coordinatorError !== error) this.o.logger.warn('agent discovery through the coordinator failed', { error });
        this.coordinatorError = error;
      }
    }
    for (const j of known) {
      if (found.has(j.agentId)) continue;
      const meta = await readMeta(j.dir);
      if (meta?.agentId === j.agentId && meta.namespace === this.o.namespace) add(j);
    }
    return [...found.values()].sort((a, b) => a.agentId.localeCompare(b.agentId));
  }
}
