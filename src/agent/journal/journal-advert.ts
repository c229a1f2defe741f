import { MAX_CLIENT_NAME_BYTES } from '../../common/wire';

/**
 * Where an agent's journal is, as its session advertises it to replicas
 * (docs/replication.md, "Finding agents"): the session's client name is
 * `agent:<host>:<namespace>` followed by `;journal=<path>`. The coordinator
 * keeps the client name with the session in etcd and returns it from
 * ListSessions, so a replica given --coordinator finds every agent's
 * journal without a new RPC or proto field.
 */
export interface AgentAdvert {
  host: string;
  namespace: string;
  /** The journal directory as the replica hosts see it; absent when the agent advertises none. */
  journal?: string;
}

const PREFIX = 'agent:';
const JOURNAL = ';journal=';

/** The client name an agent opens its session with; the journal part is left out (and `fits` false) when the whole would pass the wire limit. */
export function agentClientName(a: AgentAdvert): { name: string; fits: boolean } {
  const base = `${PREFIX}${a.host}:${a.namespace}`;
  if (a.journal === undefined) return { name: base, fits: true };
  const full = `${base}${JOURNAL}${a.journal}`;
  return Buffer.byteLength(full) <= MAX_CLIENT_NAME_BYTES ? { name: full, fits: true } : { name: base, fits: false };
}

/** The advert in a session's client name, or undefined for a session that is not an agent's (lock CLI, tests). */
export function parseAgentClientName(name: string): AgentAdvert | undefined {
  if (!name.startsWith(PREFIX)) return undefined;
  const cut = name.indexOf(JOURNAL);
  const head = name.slice(PREFIX.length, cut < 0 ? undefined : cut);
  const colon = head.lastIndexOf(':');
  if (colon <= 0 || colon === head.length - 1) return undefined;
  const journal = cut < 0 ? undefined : name.slice(cut + JOURNAL.length);
  return { host: head.slice(0, colon), namespace: head.slice(colon + 1), ...(journal ? { journal } : {}) };
}
