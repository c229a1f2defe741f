import { JournalRecord } from '../agent/journal/journal-record';
import { compareTokens, conflictKeys, ConflictKey, keysConflict } from './conflict-keys';
import { followsCreate } from './create-order';

/** A record read from an agent's stream and not applied yet. */
export interface PendingRecord {
  agentId: string;
  record: JournalRecord;
  keys: ConflictKey[];
  /** The read round that found it (see planApply). */
  round: number;
  bytes: number;
}

export function pendingOf(agentId: string, record: JournalRecord, round: number, bytes: number): PendingRecord {
  return { agentId, record, keys: conflictKeys(record), round, bytes };
}

/** `a` must be applied before `b` (DESIGN §11): b conflicts with a and ran under a later token. */
export function mustPrecede(a: PendingRecord, b: PendingRecord): boolean {
  if (a.agentId === b.agentId) return a.record.sequence < b.record.sequence;
  for (const ka of a.keys) for (const kb of b.keys) if (keysConflict(ka, kb) && compareTokens(ka.token, kb.token) < 0) return true;
  return false;
}

export interface ApplyPlan {
  order: PendingRecord[];
  /** Times no record was free to go and the lowest-token head was taken (conflicting tokens that cannot all hold). */
  forced: number;
}

/**
 * Which pending records to apply now, and in which order.
 *
 * Every round reads every agent's stream to its end. A record is in its
 * file before the op returns, so before its token can be revoked and
 * granted to another host: whatever must precede a record read in round k
 * was in its file when round k ended, and has been read once round k + 1
 * is done. So after round `readyRound + 1`, the records of rounds up to
 * `readyRound` are applied, with whatever must precede them; then the
 * order is one host's records by sequence, conflicting records of
 * different hosts by fencing token, and where those allow it another
 * host's records on a new inode after its create (create-order.ts).
 */
export function planApply(pending: PendingRecord[], readyRound: number, limit = 4096): ApplyPlan {
  const byAgent = new Map<string, PendingRecord[]>();
  for (const p of pending) {
    const list = byAgent.get(p.agentId) ?? [];
    list.push(p);
    byAgent.set(p.agentId, list);
  }
  const agents = [...byAgent.keys()];
  const lists = agents.map((a) => byAgent.get(a)!.sort((x, y) => x.record.sequence - y.record.sequence));
  // Per agent, how long a prefix goes now: the seeds, then whatever they need from other agents.
  const take = lists.map((l) => {
    let n = 0;
    for (let i = 0; i < l.length && i < limit; i++) if (l[i].round <= readyRound) n = i + 1;
    return n;
  });
  for (let changed = true; changed;) {
    changed = false;
    for (let a = 0; a < lists.length; a++) {
      for (let b = 0; b < lists.length; b++) {
        if (a === b) continue;
        for (let j = lists[b].length - 1; j >= take[b]; j--) {
          if (lists[a].slice(0, take[a]).some((r) => mustPrecede(lists[b][j], r) || followsCreate(lists[b][j], r))) {
            take[b] = j + 1;
            changed = true;
            break;
          }
        }
      }
    }
  }
  const heads = lists.map(() => 0);
  const order: PendingRecord[] = [];
  let forced = 0;
  const remaining = () => lists.some((l, i) => heads[i] < take[i]);
  const freeHead = (before: (r: PendingRecord, head: PendingRecord) => boolean): number => {
    for (let a = 0; a < lists.length; a++) {
      if (heads[a] >= take[a]) continue;
      const head = lists[a][heads[a]];
      if (!lists.some((l, b) => b !== a && l.slice(heads[b], take[b]).some((r) => before(r, head)))) return a;
    }
    return -1;
  };
  while (remaining()) {
    // Soft create edges (create-order.ts) first; where they contradict the hard rules, the hard rules alone.
    let pick = freeHead((r, head) => mustPrecede(r, head) || followsCreate(r, head));
    if (pick < 0) pick = freeHead(mustPrecede);
    if (pick < 0) {
      forced++;
      pick = lowestTokenHead(lists, heads, take);
    }
    order.push(lists[pick][heads[pick]++]);
  }
  return { order, forced };
}

function lowestTokenHead(lists: PendingRecord[][], heads: number[], take: number[]): number {
  let best = -1;
  for (let a = 0; a < lists.length; a++) {
    if (heads[a] >= take[a]) continue;
    if (best < 0 || compareTokens(minToken(lists[a][heads[a]]), minToken(lists[best][heads[best]])) < 0) best = a;
  }
  return best;
}

function minToken(p: PendingRecord) {
  return p.keys.reduce((m, k) => (compareTokens(k.token, m) < 0 ? k.token : m), p.keys[0]?.token ?? { epoch: Infinity, counter: Infinity });
}

/** A pair of applied records in the wrong order. */
export interface OrderViolation {
  earlier: { agentId: string; sequence: number };
  later: { agentId: string; sequence: number };
  reason: string;
}

/**
 * Checks an apply order against the rule: every host's records by
 * sequence, conflicting records of different hosts by fencing token.
 */
export function checkOrder(applied: Array<{ agentId: string; record: JournalRecord }>): OrderViolation[] {
  const items = applied.map((a, i) => ({ ...pendingOf(a.agentId, a.record, 0, 0), i }));
  const violations: OrderViolation[] = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      if (mustPrecede(items[j], items[i])) {
        violations.push({
          earlier: { agentId: items[i].agentId, sequence: items[i].record.sequence },
          later: { agentId: items[j].agentId, sequence: items[j].record.sequence },
          reason: items[i].agentId === items[j].agentId ? 'sequence goes back' : 'conflicting records applied against fencing-token order',
        });
      }
    }
  }
  return violations;
}
