import type { Entry, Waiter } from './entries';
import type { ResourceState } from './resource-state';
import { Grant, LockTableDump, WaiterInfo } from './types';

/** Public copies of internal state: callers can keep or change them without touching the table. */
export function toGrant(e: Entry): Grant {
  return {
    lockId: e.lockId,
    requestId: e.requestId,
    resource: e.state.resource,
    space: e.state.space,
    mode: e.mode,
    range: { start: e.start, end: e.end },
    holder: e.holder.toHolder(),
    fencingToken: { epoch: e.epoch, counter: e.counter },
    grantedAtMs: e.grantedAtMs,
    uncached: e.uncached,
    version: e.version,
  };
}

export function toWaiterInfo(w: Waiter): WaiterInfo {
  const info: WaiterInfo = {
    requestId: w.requestId,
    resource: w.state.resource,
    space: w.state.space,
    mode: w.mode,
    range: { start: w.start, end: w.end },
    holder: w.holder.toHolder(),
    queuedAtMs: w.queuedAtMs,
    conversion: w.conversion,
  };
  if (w.target !== null) info.lockId = w.target.lockId;
  return info;
}

/** Grants in range order and waiters in queue order, resource by resource. */
export function buildDump(spaces: Iterable<Map<string, ResourceState>>, resourcePrefix: string): LockTableDump {
  const out: LockTableDump = { grants: [], waiters: [] };
  for (const states of spaces) {
    for (const [resource, state] of states) {
      if (!resource.startsWith(resourcePrefix)) continue;
      const grants: Grant[] = [];
      state.forEachGranted((e) => grants.push(toGrant(e)));
      grants.sort((a, b) => a.range.start - b.range.start || a.lockId - b.lockId);
      out.grants.push(...grants);
      state.forEachWaiter((w) => out.waiters.push(toWaiterInfo(w)));
    }
  }
  return out;
}
