import assert from 'node:assert/strict';
import { LockTable } from '../../../src/coordinator/lock-table';
import { FencingToken, LockTableDump, LockTableEvent, WaiterInfo } from '../../../src/coordinator/lock-table/types';
import { LockTableModel, Shape, conflicts, keyOf, upgrades } from './lock-table-model';

const tokenLess = (a: FencingToken, b: FencingToken) => a.epoch < b.epoch || (a.epoch === b.epoch && a.counter < b.counter);
export const shapeOfInfo = (w: WaiterInfo): Shape => ({ resource: w.resource, space: w.space, mode: w.mode, start: w.range.start, end: w.range.end, holder: w.holder });

/** An acquire granted at once in this step, with what it asked for. */
export interface ImmediateGrant { shape: Shape; conversion: boolean }

/**
 * The checks made after every step (DESIGN §8): the table agrees with the
 * model, no conflicting grants coexist, fencing tokens only grow (table-wide
 * and between conflicting grants), FIFO holds, the wait-for graph is
 * acyclic and no grantable waiter is left waiting.
 */
export class InvariantChecker {
  private maxToken: FencingToken = { epoch: 0, counter: 0 };
  /** Every grant and upgrade so far. */
  private readonly history: { lockId: number; shape: Shape; token: FencingToken }[] = [];

  check(table: LockTable, model: LockTableModel, pre: LockTableDump, stepEvents: LockTableEvent[], immediate: ImmediateGrant[]): void {
    const post = table.dump();
    this.agreesWithModel(table, model, post);
    const shapes = post.grants.map((g) => ({ ...g, start: g.range.start, end: g.range.end }));
    for (let i = 0; i < shapes.length; i++) {
      for (let j = i + 1; j < shapes.length; j++) assert.ok(!conflicts(shapes[i], shapes[j]), `conflicting grants ${shapes[i].lockId} and ${shapes[j].lockId}`);
    }
    assert.ok(!model.hasCycle(), 'wait-for cycle');
    assert.deepEqual(model.grantableWaiters().map((w) => w.requestId), [], 'a grantable waiter was left waiting');
    this.fencing(pre, post);
    this.fifo(pre, post, stepEvents, immediate);
  }

  private agreesWithModel(table: LockTable, model: LockTableModel, post: LockTableDump): void {
    const modelGrants = model.grants.map((g) => ({
      lockId: g.lockId, requestId: g.requestId, resource: g.resource, space: g.space, mode: g.mode,
      range: { start: g.start, end: g.end }, holder: g.holder, grantedAtMs: g.grantedAtMs, uncached: g.uncached, version: g.version,
    })).sort((a, b) => a.lockId - b.lockId);
    const tableGrants = post.grants.map(({ fencingToken: _f, ...rest }) => rest).sort((a, b) => a.lockId - b.lockId);
    assert.deepEqual(tableGrants, modelGrants, 'grants differ from the model');
    for (const session of new Set(model.grants.map((g) => g.holder.sessionId))) {
      const ids = table.grantsOf(session).map((g) => g.lockId).sort((a, b) => a - b);
      assert.deepEqual(ids, modelGrants.filter((g) => g.holder.sessionId === session).map((g) => g.lockId), `grantsOf(${session})`);
    }
    const keys = new Set([...post.waiters.map(keyOf), ...model.waiters.map(keyOf)]);
    for (const key of keys) {
      const t = post.waiters.filter((w) => keyOf(w) === key).map((w) => [w.requestId, w.conversion]);
      const m = model.queue(key).map((w) => [w.requestId, w.conversion]);
      assert.deepEqual(t, m, `queue of ${key} differs from the model`);
    }
    const resources = new Set([...model.grants.map(keyOf), ...model.waiters.map(keyOf)]).size;
    assert.deepEqual(table.stats(), { grants: model.grants.length, waiters: model.waiters.length, resources });
  }

  /** New and upgraded grants carry tokens above every earlier one, in particular above every earlier conflicting grant. */
  private fencing(pre: LockTableDump, post: LockTableDump): void {
    const prior = new Map(pre.grants.map((g) => [g.lockId, g]));
    const seen = new Set<string>();
    let max = this.maxToken;
    for (const g of post.grants) {
      const p = prior.get(g.lockId);
      const changed = p === undefined || p.fencingToken.epoch !== g.fencingToken.epoch || p.fencingToken.counter !== g.fencingToken.counter;
      if (changed) {
        assert.ok(tokenLess(this.maxToken, g.fencingToken), `fencing token ${JSON.stringify(g.fencingToken)} not above ${JSON.stringify(this.maxToken)}`);
        const k = `${g.fencingToken.epoch}.${g.fencingToken.counter}`;
        assert.ok(!seen.has(k), 'two grants share a fencing token');
        seen.add(k);
        if (tokenLess(max, g.fencingToken)) max = g.fencingToken;
      }
      const upgraded = p === undefined || upgrades(p.mode, g.mode) || g.range.start < p.range.start || g.range.end > p.range.end;
      if (!upgraded) continue;
      const shape = { ...g, start: g.range.start, end: g.range.end };
      for (const h of this.history) {
        if (h.lockId !== g.lockId && conflicts(h.shape, shape)) {
          assert.ok(tokenLess(h.token, g.fencingToken), `grant ${g.lockId} ${JSON.stringify(g.fencingToken)} conflicts with earlier grant ${h.lockId} ${JSON.stringify(h.token)}`);
        }
      }
      this.history.push({ lockId: g.lockId, shape, token: g.fencingToken });
    }
    this.maxToken = max;
  }

  /** No waiter granted in this step had an earlier conflicting waiter that still waits; no immediate grant jumped the queue. Conversions excepted. */
  private fifo(pre: LockTableDump, post: LockTableDump, stepEvents: LockTableEvent[], immediate: ImmediateGrant[]): void {
    const stillWaiting = new Set(post.waiters.map((w) => w.requestId));
    for (const ev of stepEvents) {
      if (ev.kind !== 'granted') continue;
      const idx = pre.waiters.findIndex((w) => w.requestId === ev.grant.requestId);
      if (idx < 0 || pre.waiters[idx].conversion) continue;
      const w = shapeOfInfo(pre.waiters[idx]);
      for (const v of pre.waiters.slice(0, idx)) {
        assert.ok(!(conflicts(shapeOfInfo(v), w) && stillWaiting.has(v.requestId)), `${ev.grant.requestId} jumped over ${v.requestId}`);
      }
    }
    for (const { shape, conversion } of immediate) {
      if (conversion) continue;
      const jumped = pre.waiters.filter((v) => conflicts(shapeOfInfo(v), shape));
      assert.deepEqual(jumped.map((v) => v.requestId), [], 'an immediate grant jumped over waiters');
    }
  }
}
