import { Grant } from './lock-table/types';
import { fencingToWire, rangeToWire, spaceToWire } from '../common/wire';

/** A grant in its coherd.v1.LockInfo wire form. */
export function lockInfoToWire(grant: Grant, nowMs: number): object {
  return {
    lockId: grant.lockId,
    resource: grant.resource,
    space: spaceToWire(grant.space),
    mode: grant.mode,
    range: rangeToWire(grant.range),
    sessionId: grant.holder.sessionId,
    owner: grant.holder.owner,
    fencingToken: fencingToWire(grant.fencingToken),
    ageMs: Math.max(0, Math.round(nowMs - grant.grantedAtMs)),
    uncached: grant.uncached,
    version: grant.version,
  };
}

/** Table request ids are "<session>/<client request id>" so events route back to the session. */
export function tableRequestId(sessionId: string, clientRequestId: number): string {
  return `${sessionId}/${clientRequestId}`;
}

export function parseTableRequestId(id: string): { sessionId: string; clientRequestId: number } {
  const slash = id.indexOf('/');
  return { sessionId: id.slice(0, slash), clientRequestId: Number(id.slice(slash + 1)) };
}
