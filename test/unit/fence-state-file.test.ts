import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FENCE_OFF_DEADLINE, FENCE_OFF_SEQ, FENCE_OFF_SLOTS, FENCE_SLOTS, FenceStateFile } from '../../src/agent/fuse/fence/fence-state-file';

/** A state file in memory that records every write after the first (the zeroed file). */
function recorded(): { file: FenceStateFile; writes: Array<{ at: number; value: bigint }>; mem: Buffer } {
  const mem = Buffer.alloc(FENCE_OFF_SLOTS + 8 * FENCE_SLOTS);
  const writes: Array<{ at: number; value: bigint }> = [];
  let first = true;
  const file = new FenceStateFile((data, position) => {
    data.copy(mem, position);
    if (first) { first = false; return; }
    writes.push({ at: position, value: data.readBigUInt64LE(0) });
  });
  return { file, writes, mem };
}

/** What coherd_fence's seqlock reader accepts (fence-state.c): the header if the sequence is even and unchanged. */
function readHeader(mem: Buffer): { deadline: bigint; generation: bigint } | undefined {
  const seq = mem.readBigUInt64LE(FENCE_OFF_SEQ);
  if (seq % 2n === 1n) return undefined;
  return { deadline: mem.readBigInt64LE(FENCE_OFF_DEADLINE), generation: mem.readBigUInt64LE(FENCE_OFF_DEADLINE + 8) };
}

function listed(mem: Buffer): number[] {
  const ids: number[] = [];
  for (let i = 0; i < FENCE_SLOTS; i++) {
    const v = mem.readBigUInt64LE(FENCE_OFF_SLOTS + 8 * i);
    if (v !== 0n) ids.push(Number(v));
  }
  return ids.sort((a, b) => a - b);
}

describe('the cache fence state file (the agent\'s side)', () => {
  it('makes the sequence odd before it changes the deadline and even again after', () => {
    const { file, writes, mem } = recorded();
    file.setDeadline(123_456_789n);
    assert.deepEqual(writes.map((w) => [w.at, w.value]), [[FENCE_OFF_SEQ, 1n], [FENCE_OFF_DEADLINE, 123_456_789n], [FENCE_OFF_SEQ, 2n]]);
    assert.deepEqual(readHeader(mem), { deadline: 123_456_789n, generation: 0n });
  });

  it('writes nothing for a deadline that did not move', () => {
    const { file, writes } = recorded();
    file.setDeadline(5n);
    const n = writes.length;
    file.setDeadline(5n);
    assert.equal(writes.length, n);
  });

  it('writes a node\'s slot before the generation that tells the fence to read the table again', () => {
    const { file, writes, mem } = recorded();
    assert.equal(file.add(42), true);
    assert.equal(writes[0].at >= FENCE_OFF_SLOTS, true, 'the slot comes first');
    assert.equal(writes[0].value, 42n);
    assert.deepEqual(writes.slice(1).map((w) => w.at), [FENCE_OFF_SEQ, FENCE_OFF_DEADLINE, FENCE_OFF_SEQ]);
    assert.deepEqual(readHeader(mem), { deadline: 0n, generation: 1n });
    assert.deepEqual(listed(mem), [42]);
  });

  it('keeps a node listed until the last of its cached opens is released', () => {
    const { file, mem } = recorded();
    file.add(7);
    file.add(7);
    file.add(9);
    file.remove(7);
    assert.deepEqual(listed(mem), [7, 9]);
    file.remove(7);
    assert.deepEqual(listed(mem), [9]);
    file.remove(7); // one release too many changes nothing
    assert.deepEqual(listed(mem), [9]);
    assert.equal(file.listed, 1);
  });

  it('refuses a node once every slot is taken, and takes it once a slot is free again', () => {
    const { file, mem } = recorded();
    for (let n = 1; n <= FENCE_SLOTS; n++) assert.equal(file.add(n), true);
    assert.equal(file.add(FENCE_SLOTS + 1), false, 'the table is full');
    assert.equal(file.add(3), true, 'a node already listed is only counted');
    file.remove(5);
    assert.equal(file.add(FENCE_SLOTS + 1), true);
    const ids = listed(mem);
    assert.equal(ids.length, FENCE_SLOTS);
    assert.ok(ids.includes(FENCE_SLOTS + 1) && !ids.includes(5));
  });
});
