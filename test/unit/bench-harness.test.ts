import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryPauseMs, RETRY_CAP_MS } from '../../bench/baselines/etcd3-npm-lock';
import { ExclusionCheck, SerialisationViolatedError } from '../../bench/cases/exclusion-check';
import { Cleanup } from '../../bench/cleanup';
import { buildMountOptions } from '../../src/agent/fuse/ll/mount-options';

describe('bench exclusion check', () => {
  it('accepts grants that follow each other', () => {
    const check = new ExclusionCheck();
    check.enter('k', 'a');
    check.leave('k', 'a');
    assert.equal(check.enter('k', 'b'), true);
    check.leave('k', 'b');
    assert.equal(check.enter('k', 'b'), false);
    check.leave('k', 'b');
    assert.equal(check.grants, 3);
    assert.equal(check.holderChanges, 1);
    check.assertSerialised('test');
  });

  it('flags a grant made while another contender holds the same key', () => {
    const check = new ExclusionCheck();
    check.enter('k', 'a');
    check.enter('k', 'b');
    assert.equal(check.overlaps, 1);
    assert.throws(() => check.assertSerialised('test'), SerialisationViolatedError);
  });

  it('lets different keys be held at once', () => {
    const check = new ExclusionCheck();
    check.enter('k1', 'a');
    check.enter('k2', 'b');
    check.assertSerialised('test');
  });
});

describe('bench cleanup', () => {
  it('runs steps last-in first-out, each once, even when one fails', async () => {
    const order: string[] = [];
    const failures: string[] = [];
    const cleanup = new Cleanup((name) => failures.push(name));
    cleanup.add({ name: 'etcd', run: async () => void order.push('etcd') });
    cleanup.add({
      name: 'mount',
      run: async () => {
        order.push('mount');
        throw new Error('busy');
      },
    });
    const runChild = cleanup.add({ name: 'child', run: async () => void order.push('child') });
    await runChild();
    await runChild();
    await cleanup.runAll();
    await cleanup.runAll();
    assert.deepEqual(order, ['child', 'mount', 'etcd']);
    assert.deepEqual(failures, ['mount']);
    assert.equal(cleanup.pending, 0);
  });

  it('falls back to synchronous steps only for what never ran', async () => {
    const ran: string[] = [];
    const cleanup = new Cleanup();
    const runA = cleanup.add({ name: 'a', run: async () => {}, runSync: () => void ran.push('a') });
    cleanup.add({ name: 'b', run: async () => {}, runSync: () => void ran.push('b') });
    await runA();
    cleanup.runAllSync();
    assert.deepEqual(ran, ['b']);
  });
});

describe('bench etcd3 Lock retry policy', () => {
  it('backs off exponentially with full jitter, up to the cap', () => {
    assert.equal(retryPauseMs(0, () => 0.999), 0.999);
    assert.equal(retryPauseMs(3, () => 0.5), 4);
    assert.equal(retryPauseMs(20, () => 1), RETRY_CAP_MS);
    assert.equal(retryPauseMs(5, () => 0), 0);
  });
});

describe('bench passthrough mount options', () => {
  it('checks callers with default_permissions and does not pass for a coherd mount', () => {
    const options = buildMountOptions({ fsName: 'bench-pt', allowOther: false });
    assert.deepEqual(options, ['default_permissions', 'fsname=bench-pt']);
    assert.ok(buildMountOptions({ fsName: 'bench-pt', allowOther: true }).includes('allow_other'));
  });

  it('refuses an fsname that would inject options', () => {
    assert.throws(() => buildMountOptions({ fsName: 'x,allow_other' }), TypeError);
    assert.throws(() => buildMountOptions({ fsName: 'x', extra: ['a,b'] }), TypeError);
  });
});
