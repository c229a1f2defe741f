import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, TestCluster } from '../support/cluster';
import { openRaw, reasonOf } from '../support/raw-stream';

let cluster: TestCluster;

before(async () => {
  cluster = await startCluster();
});

after(async () => {
  await cluster?.stop();
});

const exclusive = (resource: string, extra: object = {}) => ({ resource, space: 'RANGE_LOCK', mode: 'EXCLUSIVE', range: { start: 0, end: 100 }, wait: true, ...extra });

test('timeout_ms of 2^31, 2^53−1 and 2^63−1 keeps waiting instead of timing out at once', async () => {
  const holder = await openRaw(cluster.coordinator.address, 'holder');
  const waiter = await openRaw(cluster.coordinator.address, 'waiter');
  try {
    const held = await holder.raw.request({ requestId: 2, acquire: exclusive('huge-timeout') });
    assert.equal(held?.body, 'granted');
    const timeouts = [2 ** 31, Number.MAX_SAFE_INTEGER, '9223372036854775807'];
    let id = 2;
    for (const timeoutMs of timeouts) {
      const q = await waiter.raw.request({ requestId: id++, acquire: exclusive('huge-timeout', { timeoutMs }) });
      assert.equal(q?.body, 'queued', `timeout_ms ${timeoutMs}`);
    }
    // Overflowing timers fire after 1 ms: nothing may come within half a second.
    const early = await waiter.raw.next(500);
    assert.equal(early, undefined, `got ${JSON.stringify(early)}`);
    const lockId = ((held!.granted as Record<string, Record<string, unknown>>).lock).lockId;
    await holder.raw.request({ requestId: 3, release: { lockId } });
    const granted = await waiter.raw.replyTo(2);
    assert.equal(granted?.body, 'granted', 'the first waiter is granted once the holder releases');
    assert.equal(reasonOf(granted), undefined);
  } finally {
    holder.raw.close();
    waiter.raw.close();
  }
});
