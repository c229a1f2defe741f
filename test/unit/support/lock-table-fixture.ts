import assert from 'node:assert/strict';
import { FakeClock } from '../../../src/common/clock';
import { LockTable, LockTableOptions } from '../../../src/coordinator/lock-table';
import { AcquireRequest, Grant, Holder, LockMode, LockSpace, LockTableEvent } from '../../../src/coordinator/lock-table/types';

/** A lock table on a fake clock that records its events, with shorthands for requests. */
export const A: Holder = { sessionId: 'host-a', owner: '' };
export const B: Holder = { sessionId: 'host-b', owner: '' };
export const C: Holder = { sessionId: 'host-c', owner: '' };

export function setup(options: Partial<LockTableOptions> = {}) {
  const clock = new FakeClock(0);
  const events: LockTableEvent[] = [];
  const table = new LockTable({ clock, epoch: 7, onEvent: (e) => events.push(e), ...options });
  let n = 0;
  const req = (holder: Holder, space: LockSpace, mode: LockMode, start: number, end: number, extra: Partial<AcquireRequest> = {}): AcquireRequest => ({
    requestId: `r${n++}`, resource: 'ns/42', space, mode, range: { start, end }, holder, wait: true, ...extra,
  });
  const grant = (r: AcquireRequest): Grant => {
    const g = table.acquire(r);
    assert.notEqual(g, 'queued', `${r.requestId} should be granted at once`);
    return g as Grant;
  };
  const of = <K extends LockTableEvent['kind']>(kind: K) => events.filter((e): e is Extract<LockTableEvent, { kind: K }> => e.kind === kind);
  return { clock, events, table, req, grant, of };
}
