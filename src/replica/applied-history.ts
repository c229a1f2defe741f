import { compareTokens, ConflictKey, keysConflict } from './conflict-keys';
import { PendingRecord } from './apply-order';

const PER_RESOURCE = 64;

/**
 * The latest applied keys per resource (bounded): catches a record that
 * arrives after a conflicting record with a later token was already applied,
 * which means a host journaled it too late for the ordering rule. Such a
 * record is never applied (the replica stops that host's stream instead).
 */
export class AppliedHistory {
  private readonly byResource = new Map<string, Array<ConflictKey & { agentId: string; sequence: number }>>();

  /** The applied record this one should have preceded, if any. */
  lateAgainst(p: PendingRecord): { agentId: string; sequence: number } | undefined {
    for (const k of p.keys) {
      for (const h of this.byResource.get(`${k.ino}/${k.space}`) ?? []) {
        if (h.agentId !== p.agentId && keysConflict(h, k) && compareTokens(k.token, h.token) < 0) return { agentId: h.agentId, sequence: h.sequence };
      }
    }
    return undefined;
  }

  add(p: PendingRecord): void {
    for (const k of p.keys) {
      const id = `${k.ino}/${k.space}`;
      const list = this.byResource.get(id) ?? [];
      list.push({ ...k, agentId: p.agentId, sequence: p.record.sequence });
      if (list.length > PER_RESOURCE) list.shift();
      this.byResource.set(id, list);
    }
  }
}
