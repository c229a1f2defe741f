import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { KERNEL_COPY_DROP_HOLD_MS, KERNEL_COPY_DROP_POLL_MS } from '../../src/agent/coherency/kernel-copy-drop';
import { tokenRequest, type HeldToken } from '../../src/agent/coherency/held-token';
import type { FakeClock } from '../../src/common/clock';
import { signal, twoHosts, type Host } from './support/coherency-hosts';

/**
 * A host's own write to a file its kernel caches (kernel-copy-drop.ts):
 * the kernel's copy of the bytes it replaced goes before the write's
 * tokens do, so no other host reads the new bytes while a process here
 * still could read the old ones (chaos seed 20261205). The FUSE layer's
 * part (vop-low-level-ops.ts, write) is played here: the drop is the
 * write's beforeRelease, run after the op if the chain did not.
 */

/** A's kernel after one READ of /f through a cached open: the page it holds. */
async function cachedPageOn(a: Host): Promise<string> {
  const pages = a.hook.core.kernel.pages;
  const { fh } = await a.run(a.vop('open', { flags: constants.O_RDONLY }));
  pages.opened(a.key, 1);
  const ticket = pages.readStarting(a.key);
  const buffer = Buffer.alloc(11);
  await a.run(a.vop('read', { fh, buffer, length: 11, offset: 0 }));
  pages.readAnswered(a.key, ticket);
  return buffer.toString();
}

/** A write(2) through an uncached handle of A, a copy_file_range within /f, or a truncate to 5 bytes, as the FUSE layer sends them. */
async function changeOn(a: Host, how: 'write' | 'copy' | 'truncate', data: string): Promise<void> {
  const pages = a.hook.core.kernel.pages;
  const { fh } = await a.run(a.vop('open', { flags: how === 'copy' ? constants.O_RDWR : constants.O_WRONLY }));
  pages.local.starting(a.key);
  const ino = a.vop('flush', { fh }).ino ?? 0;
  const vop = how === 'write'
    ? a.vop('write', { fh, data: Buffer.from(data), offset: 0 })
    : how === 'copy'
      ? a.vop('copyFileRange', { fhIn: fh, inoIn: ino, offsetIn: 6, fh, offset: 0, length: data.length, flags: 0 })
      : a.vop('truncate', { size: data.length, fh });
  let drop: Promise<void> | undefined;
  vop.beforeRelease = () => (drop ??= how === 'truncate' ? pages.local.truncated(a.key, data.length) : pages.local.written(a.key, 0, data.length));
  try {
    await a.run(vop);
  } finally {
    await vop.beforeRelease();
  }
}

for (const [how, expected] of [['write', 'HELLO world'], ['copy', 'world world'], ['truncate', 'hello']] as const) {
  test(`a host's ${how === 'copy' ? 'copy_file_range' : how} drops its kernel's copy of the old bytes before its token goes: another host never reads the new bytes first`, async (t) => {
    const { coordinator, a, b } = await twoHosts(t);
    coordinator.expand = false; // A's write gets a range WRITE token beside its whole-file READ one, as the coordinator gives
    const { fh: fhB } = await b.run(b.vop('open', { flags: constants.O_RDONLY }));
    let kernelOfA: string | undefined;
    let readOnB: Promise<{ read: string; kernelOfA: string | undefined }> | undefined;
    const readBesideTheDrop = async () => {
      const buffer = Buffer.alloc(11);
      const n = await b.run(b.vop('read', { fh: fhB, buffer, length: 11, offset: 0 }));
      return { read: buffer.subarray(0, n).toString(), kernelOfA };
    };
    // A's kernel drops its page slowly; B reads the file as soon as that drop begins.
    a.hook.core.kernel.attach({
      attrs: async () => undefined,
      allAttrs: async () => undefined,
      entries: () => undefined,
      pages: async () => {
        readOnB ??= readBesideTheDrop();
        await delay(50);
        kernelOfA = undefined;
      },
    });
    kernelOfA = await cachedPageOn(a);
    assert.equal(kernelOfA, 'hello world');
    await changeOn(a, how, 'HELLO');
    assert.ok(readOnB, 'A\'s write dropped its kernel\'s pages');
    const seen = await readOnB;
    assert.equal(seen.read, expected, 'B reads A\'s change');
    assert.equal(seen.kernelOfA, undefined, 'when B had read the new bytes, A\'s kernel no longer held the old ones');
  });
}

/** A's write of /f, with a kernel drop that lasts until `finishDrop`: once the drop began, the write's data WRITE token. */
async function writeWithStuckDrop(a: Host): Promise<{ token: HeldToken; writing: Promise<void>; finishDrop: () => void }> {
  let finishDrop: (() => void) | undefined;
  a.hook.core.kernel.attach({
    attrs: async () => undefined,
    allAttrs: async () => undefined,
    entries: () => undefined,
    pages: () => new Promise<void>((resolve) => { finishDrop = resolve; }),
  });
  await cachedPageOn(a);
  const writing = changeOn(a, 'write', 'HELLO');
  while (!finishDrop) await delay(1);
  const token = a.hook.core.tokens.find(tokenRequest(a.key, 'data', 'WRITE', { start: 0, end: 5 }));
  assert.ok(token && token.inUse > 0, 'the write holds its data WRITE token while the drop runs');
  return { token, writing, finishDrop };
}

test('a kernel drop that outlasts the hold lets the write\'s tokens go (a READ it waits on may need them elsewhere), and still runs', async (t) => {
  const { coordinator, a } = await twoHosts(t);
  coordinator.expand = false;
  const { token, writing, finishDrop } = await writeWithStuckDrop(a);
  (a.hook.core.clock as FakeClock).advance(KERNEL_COPY_DROP_HOLD_MS);
  await delay(5);
  assert.equal(token.inUse, 0, 'past the hold the token is no longer held for the drop');
  finishDrop();
  await writing;
});

test('a vop of the same file waiting for a token ends the hold at once: the READ the drop waits on may be that vop', async (t) => {
  const { coordinator, a } = await twoHosts(t);
  coordinator.expand = false;
  // An acquire the coordinator does not answer yet (queued behind another host's request, say).
  let refuse: ((e: Error) => void) | undefined;
  const acquire = a.client.acquire.bind(a.client);
  a.client.acquire = (o) => (o.range?.start === 8192 ? new Promise((_resolve, reject) => { refuse = reject; }) : acquire(o));
  const { token, writing, finishDrop } = await writeWithStuckDrop(a);
  const waiting = a.hook.core.tokens.use(tokenRequest(a.key, 'data', 'WRITE', { start: 8192, end: 12288 }), signal).catch(() => undefined);
  (a.hook.core.clock as FakeClock).advance(KERNEL_COPY_DROP_POLL_MS);
  await delay(5);
  assert.equal(token.inUse, 0, 'the hold ended well before its bound');
  refuse?.(new Error('never granted'));
  await waiting;
  finishDrop();
  await writing;
});
