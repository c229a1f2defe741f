import { affectedRange, planRevoke } from '../../src/agent/coherency/revoke-plan';
import type { SimHost } from './sim-host';

/**
 * Deliberate bugs planted into the real agent code, one per kind of
 * failure the simulation's checks must see (a check is trusted only once it
 * has failed):
 *
 * - `shrink-after-answer`: the client gives rights up in its belief only when
 *   the coordinator's reply comes back, not before the answer leaves
 *   (caught as two hosts believing conflicting tokens);
 * - `skip-invalidate`: revokes drop no cached pages (caught as a stale read);
 * - `skip-flush`: flushes write nothing and report success (caught as an
 *   acknowledged write lost without an error);
 * - `early-answer`: the revoke answer leaves before in-flight operations
 *   finished and dirty data was flushed (caught as a stale read or lost write);
 * - `lose-riding-releases`: early releases lost with a broken stream are not
 *   sent again (the coordinator keeps revoking a lock the host forgot:
 *   caught as a responsive host evicted).
 */
export type Mutation = 'shrink-after-answer' | 'skip-invalidate' | 'skip-flush' | 'early-answer' | 'lose-riding-releases';

export const MUTATIONS: readonly Mutation[] = ['shrink-after-answer', 'skip-invalidate', 'skip-flush', 'early-answer', 'lose-riding-releases'];

type Patchable = Record<string, unknown>;

/** The object a mutation patches; throws when the code moved, so a mutation never silently plants nothing. */
function part(owner: Patchable, name: string): Patchable {
  const value = owner[name];
  if (typeof value !== 'object' || value === null) throw new Error(`mutation target ${name} not found: the code it patches moved`);
  return value as Patchable;
}

export function applyMutation(mutation: Mutation | undefined, hosts: readonly SimHost[]): void {
  if (mutation === undefined) return;
  for (const h of hosts) {
    const client = h.client as unknown as Patchable;
    const core = h.core;
    switch (mutation) {
      case 'shrink-after-answer': {
        const held = part(client, 'held');
        held.reduce = () => false;
        break;
      }
      case 'skip-invalidate':
        core.pages.dropRange = () => 0;
        break;
      case 'skip-flush':
        core.writeBack.flush = async (key: string) => {
          const file = core.pages.file(key);
          if (file) for (const p of [...file.dirty]) core.pages.markClean(p, p.version);
        };
        break;
      case 'early-answer':
        h.client.setRevokeHandler(async (notice) => {
          const token = core.tokens.byId(notice.lockId);
          if (!token) return { released: true };
          const answer = planRevoke(token, notice.range, notice.wantedMode === 'READ' ? 'READ' : notice.wantedMode === 'DIRECT' ? 'DIRECT' : 'WRITE');
          if (affectedRange(token, answer)) core.tokens.apply(token, answer);
          return answer;
        });
        break;
      case 'lose-riding-releases': {
        const releases = part(part(client, 'channel'), 'releases') as Patchable & { clear(): void };
        releases.resumedWithSameLeader = () => releases.clear();
        break;
      }
    }
  }
}
