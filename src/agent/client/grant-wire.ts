import { modeFromWire, rangeToWire, spaceFromWire, spaceToWire } from '../../common/wire';
import { ClientGrant } from './types';

/** A held grant in its coherd.v1.LockInfo form, for reclaims. */
export function grantToWire(g: ClientGrant, sessionId: string): object {
  return {
    lockId: g.lockId, resource: g.resource, space: spaceToWire(g.space), mode: g.mode, range: rangeToWire(g.range),
    sessionId, owner: g.owner, fencingToken: { epoch: g.fencingToken.epoch, counter: g.fencingToken.counter }, ageMs: 0, uncached: g.uncached, version: g.version,
  };
}

/** A coherd.v1.LockInfo from the coordinator as a ClientGrant. */
export function grantFromWire(lock: Record<string, unknown>): ClientGrant {
  const range = lock.range as { start: number; end: number };
  const fencing = lock.fencingToken as { epoch: number; counter: number };
  return {
    lockId: Number(lock.lockId),
    resource: String(lock.resource),
    space: spaceFromWire(lock.space),
    mode: modeFromWire(lock.mode),
    range: { start: Number(range.start), end: Number(range.end) },
    owner: String(lock.owner ?? ''),
    fencingToken: { epoch: Number(fencing.epoch), counter: Number(fencing.counter) },
    uncached: lock.uncached === true,
    version: Number(lock.version ?? 0),
  };
}
