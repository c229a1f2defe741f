import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { LockTable } from '../../src/coordinator/lock-table';
import { Grant } from '../../src/coordinator/lock-table/types';

test('holds 200,000 grants across resources and releases them all', () => {
  const clock = new FakeClock(0);
  const table = new LockTable({ clock, epoch: 1, onEvent: () => undefined });
  const n = 200_000;
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const g = table.acquire({
      requestId: `q${i}`, resource: `ns/${i % 5000}`, space: 'data', mode: i % 3 === 0 ? 'WRITE' : 'READ',
      range: { start: (i / 5000 | 0) * 4096, end: (i / 5000 | 0) * 4096 + 4096 }, holder: { sessionId: `s${i % 1000}`, owner: '' }, wait: false,
    }) as Grant;
    ids.push(g.lockId);
  }
  const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  assert.deepEqual(table.stats(), { grants: n, waiters: 0, resources: 5000 });
  for (let i = 0; i < n; i++) table.release(ids[i], { sessionId: `s${i % 1000}`, owner: '' });
  const elapsedMs = performance.now() - started;
  assert.deepEqual(table.stats(), { grants: 0, waiters: 0, resources: 0 });
  assert.ok(heapMiB < 200, `heap grew ${heapMiB.toFixed(0)} MiB for ${n} grants`);
  assert.ok(elapsedMs < 60_000, `took ${elapsedMs.toFixed(0)} ms`); // generous: CI machines are shared
});
