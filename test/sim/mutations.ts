import { affectedRange, planRevoke } from '../../src/agent/coherency/revoke-plan';
import { ResourceState } from '../../src/coordinator/lock-table/resource-state';
import { PAGE_SIZE } from '../../src/agent/coherency/page';
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
 *   caught as a responsive host evicted);
 * - `cached-read-under-direct`: reads under a DIRECT token are served from
 *   and fill the page cache (caught as a page cached under DIRECT, or a
 *   stale read);
 * - `direct-beside-write`: the coordinator grants DIRECT beside another
 *   host's WRITE (caught as two hosts believing conflicting tokens);
 * - `drop-no-direct`: acquires lose their noDirect mark on the way to the
 *   coordinator (caught as a kernel-caching host holding DIRECT).
 */
export type Mutation = 'shrink-after-answer' | 'skip-invalidate' | 'skip-flush' | 'early-answer' | 'lose-riding-releases' | 'cached-read-under-direct' | 'direct-beside-write' | 'drop-no-direct';

export const MUTATIONS: readonly Mutation[] = [
  'shrink-after-answer', 'skip-invalidate', 'skip-flush', 'early-answer', 'lose-riding-releases', 'cached-read-under-direct', 'direct-beside-write', 'drop-no-direct',
];

/** Planted in the coordinator's code (shared by every simulated leader), undone by the returned function. */
export function applyTableMutation(mutation: Mutation | undefined): () => void {
  if (mutation !== 'direct-beside-write') return () => undefined;
  const original = ResourceState.prototype.conflictingGranted;
  ResourceState.prototype.conflictingGranted = function (this: ResourceState, mode, holder, start, end) {
    const found = original.call(this, mode, holder, start, end);
    return mode === 'DIRECT' && found?.mode === 'WRITE' ? undefined : found;
  };
  return () => { ResourceState.prototype.conflictingGranted = original; };
}

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
      case 'cached-read-under-direct':
        core.direct.read = async (vop, next, key) => {
          const { offset, length, buffer } = vop.args;
          const cached = core.pages.file(key);
          const hit = cached && core.pages.readCached(cached, offset, length, false);
          if (hit) return hit.copy(buffer);
          const start = Math.floor(offset / PAGE_SIZE) * PAGE_SIZE;
          const tmp = Buffer.alloc(Math.ceil((offset + length) / PAGE_SIZE) * PAGE_SIZE - start);
          const n = (await next({ ...vop, args: { ...vop.args, buffer: tmp, offset: start, length: tmp.length } })) as number;
          const file = core.pages.fileFor(key, { ino: vop.ino as number, path: vop.path, fh: vop.args.fh });
          const out = core.pages.readThrough(file, offset, length, tmp.subarray(0, n), { allowShort: true, generation: file.writeGeneration, cacheable: () => true });
          return out.copy(buffer);
        };
        break;
      case 'direct-beside-write':
        break; // planted in the coordinator (applyTableMutation)
      case 'drop-no-direct': {
        const acquire = h.client.acquire.bind(h.client);
        h.client.acquire = (a) => acquire({ ...a, noDirect: false });
        break;
      }
      case 'lose-riding-releases': {
        const releases = part(part(client, 'channel'), 'releases') as Patchable & { clear(): void };
        releases.resumedWithSameLeader = () => releases.clear();
        break;
      }
    }
  }
}
