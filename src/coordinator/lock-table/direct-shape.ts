import type { Clock } from '../../common/clock';
import { END_OF_FILE } from '../../common/byte-range';
import { REVOKE_WINDOW_MS, type HoldPolicy } from './hold-policy';
import { hasDirectMode } from './modes';
import type { CheckedRequest } from './request-check';
import type { ResourceRegistry } from './resource-registry';
import type { ResourceState } from './resource-state';
import type { HolderRef } from './sessions';

export interface DirectShapeDeps {
  clock: Clock;
  hold: HoldPolicy;
  registry: ResourceRegistry;
}

/**
 * The shape of a new acquire of a data or attr token (direct-mode.ts): in
 * direct mode, DIRECT over the whole file whatever mode it asked. The
 * acquire also tells the policy whether another session holds or waits
 * for the resource's tokens, and enters direct mode itself when it takes a
 * token back from the session it lost one to within REVOKE_WINDOW_MS.
 * An acquire marked `noDirect` (the host's kernel caches the file: its
 * pages and shared mappings are dropped only by a revoke) is granted as
 * asked, and neither enters direct mode nor keeps it shared: the DIRECT
 * tokens in its way are revoked like any other conflicting token, and
 * other hosts' DIRECT acquires revoke its token in turn.
 */
export function directShape(d: DirectShapeDeps, state: ResourceState, r: CheckedRequest, holder: HolderRef): CheckedRequest {
  if (!hasDirectMode(state.space) || r.mode === 'DIRECT' || r.noDirect === true) return r;
  const shared = (): boolean => {
    const data = d.registry.peek('data', state.resource);
    const attr = d.registry.peek('attr', state.resource);
    return (data?.hasOtherSession(holder.sessionId) ?? false) || (attr?.hasOtherSession(holder.sessionId) ?? false);
  };
  const nowMs = d.clock.nowMs();
  if (!d.hold.direct.atAcquire(state.resource, nowMs, shared)) {
    if (!takesBack(state, r, holder, nowMs)) return r;
    if (!d.hold.direct.enter(state.resource, nowMs, `ping-pong: ${state.space} token asked back from the host it went to within ${REVOKE_WINDOW_MS} ms`)) return r;
  }
  return { ...r, mode: 'DIRECT', start: 0, end: END_OF_FILE };
}

/** The acquire conflicts with a token of a session this session recently lost one of the same (resource, space) to. */
function takesBack(state: ResourceState, r: CheckedRequest, holder: HolderRef, nowMs: number): boolean {
  const rec = state.contention;
  if (rec === null) return false;
  let found = false;
  state.forEachConflictingGranted(r.mode, holder, r.start, r.end, (e) => {
    if (!found && e.holder.sessionId !== holder.sessionId && rec.lostTo(holder.sessionId, e.holder.sessionId, nowMs)) found = true;
  });
  return found;
}
