import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/common/logger';
import type { KernelCacheLink } from '../../src/agent/coherency/kernel-cache';
import { DropMarks, MARK_DELAY_MS } from '../../src/agent/fuse/ll/drop-marks';
import { KernelPageCache, type PageNotifier } from '../../src/agent/fuse/ll/kernel-page-cache';
import { PathNodeTable } from '../../src/agent/fuse/ll/path-node-table';

/**
 * A kernel queue reduced to what DropMarks sees: requests arrive in order
 * (`arrive`), and a mark is a statfs that arrives when the test says so.
 */
class Queue {
  readonly marks: DropMarks;
  readonly slept: number[] = [];
  private markArrives: Array<{ resolve(): void; reject(e: Error): void }> = [];
  private wakeups: Array<() => void> = [];

  constructor() {
    this.marks = new DropMarks({
      mark: () => new Promise<void>((resolve, reject) => this.markArrives.push({ resolve, reject })),
      sleep: (ms) => new Promise<void>((resolve) => { this.slept.push(ms); this.wakeups.push(resolve); }),
      logger: silentLogger(),
    });
  }

  arrive(op: string): number {
    return this.marks.requestSeen(op);
  }

  /** A GETATTR arrives and is being served (as the agent's getattr op registers it). */
  getattr(): number {
    const seq = this.arrive('getattr');
    this.marks.attrAnswering(seq);
    return seq;
  }

  /** The mark's delay passes, its statfs arrives and is answered. */
  async markNow(): Promise<number> {
    await this.wake();
    const seq = this.arrive('statfs');
    this.markArrives.shift()!.resolve();
    await settle();
    return seq;
  }

  async markFails(): Promise<void> {
    await this.wake();
    this.markArrives.shift()!.reject(new Error('ENOTCONN'));
    await settle();
  }

  private async wake(): Promise<void> {
    await settle();
    this.wakeups.shift()!();
    await settle();
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('which GETATTR replies a drop may make the kernel discard', () => {
  it('counts a GETATTR queued before the drop\'s mark, not one queued after it', async () => {
    const q = new Queue();
    const before = q.getattr();
    const done = q.marks.dropping(7);
    assert.equal(q.marks.mayBeDiscarded(7, before), true, 'while the drop is in flight');
    done();
    const between = q.getattr(); // queued after the drop completed, before the mark: sampled maybe before it
    await q.markNow();
    const after = q.getattr();
    assert.equal(q.marks.mayBeDiscarded(7, before), true);
    assert.equal(q.marks.mayBeDiscarded(7, between), true);
    assert.equal(q.marks.mayBeDiscarded(7, after), false);
    assert.equal(q.marks.mayBeDiscarded(8, before), false, 'another inode\'s drop bumps nothing of this one');
    assert.deepEqual(q.slept, [MARK_DELAY_MS]);
  });

  it('counts any GETATTR, even one queued later, while a drop is sent and not yet marked', async () => {
    const q = new Queue();
    const done = q.marks.dropping(7);
    done();
    const later = q.getattr();
    assert.equal(q.marks.mayBeDiscarded(7, later), true);
    const second = q.marks.dropping(7);
    await q.markNow();
    assert.equal(q.marks.mayBeDiscarded(7, q.getattr()), true, 'the second drop is still in flight');
    second();
    await q.markNow();
    assert.equal(q.marks.mayBeDiscarded(7, q.getattr()), false);
  });

  it('takes a statfs of someone else that arrives before its own mark as no mark at all', async () => {
    const q = new Queue();
    q.marks.dropping(7)();
    const g = q.getattr();
    q.arrive('statfs'); // an application's, queued before the mark was even sent
    await q.markNow();
    assert.equal(q.marks.mayBeDiscarded(7, g), true);
  });

  it('counts every request seen so far as before the drop when the mark fails', async () => {
    const q = new Queue();
    q.marks.dropping(7)();
    const g = q.getattr();
    await q.markFails();
    assert.equal(q.marks.mayBeDiscarded(7, g), true);
    assert.equal(q.marks.mayBeDiscarded(7, q.getattr()), false);
  });

  it('forgets a drop once no GETATTR older than its mark is served, and not before', async () => {
    const q = new Queue();
    const old = q.getattr();
    q.marks.dropping(7)();
    await q.markNow();
    const newer = q.getattr();
    q.marks.dropping(9)();
    await q.markNow();
    assert.equal(q.marks.mayBeDiscarded(7, old), true, 'kept while that GETATTR is served');
    q.marks.attrAnswered(old);
    q.marks.dropping(9)();
    await q.markNow();
    assert.equal(q.marks.sentTo(7), 0, 'node 7\'s record is gone');
    assert.equal(q.marks.sentTo(9), 2, 'node 9\'s is kept: a GETATTR from before its mark is still served');
    assert.equal(q.marks.mayBeDiscarded(9, newer), true);
    q.marks.attrAnswered(newer);
  });
});

/** A GETATTR of the node of backing inode 500 through KernelPageCache.attrRequest, with a cached open (handle 1) or not. */
function pageCache(q: Queue, cachedOpen = true) {
  const calls: string[] = [];
  const link = {
    openCached: () => ({ keepCache: false }),
    releasedCached: () => undefined,
    readStarting: (ino: number) => { calls.push(`read starting ${ino}`); return undefined; },
    readAnswered: (ino: number) => { calls.push(`read answered ${ino}`); },
  } as unknown as KernelCacheLink;
  const notifier: PageNotifier = {
    storeInode: async (ino, offset, data) => { calls.push(`store ${ino} @${offset} ${data.toString()}`); return 0; },
    invalidateInode: async (ino, offset, length) => {
      const done = q.marks.dropping(ino); // as FuseSession does
      calls.push(`drop ${ino} @${offset}+${length}`);
      done();
      return 0;
    },
  };
  const table = new PathNodeTable(1);
  const pages = new KernelPageCache(table, link, silentLogger(), { marks: q.marks });
  pages.setNotifier(notifier);
  const node = table.ref(500, '/f');
  if (cachedOpen) void pages.opened(node, 0, 1, new AbortController().signal); // an O_RDONLY open is recorded before its first await
  return { pages, node, calls };
}

describe('a GETATTR reply the kernel may discard', () => {
  it('gives the kernel the size with notify_store of the last byte, read through the cached handle, before the reply', async () => {
    const q = new Queue();
    const { pages, node, calls } = pageCache(q);
    const seq = q.getattr();
    const guard = pages.attrRequest(node, seq);
    q.marks.dropping(node.id)(); // a revoke's drop crosses the GETATTR
    await guard.beforeReply(8193, async (fh, offset) => { calls.push(`byte @${offset} via fh ${fh}`); return Buffer.from('z'); });
    guard.done();
    assert.deepEqual(calls, ['read starting 500', 'byte @8192 via fh 1', `store ${node.id} @8192 z`, 'read answered 500']);
  });

  it('stores nothing when no drop raced it, when no cached open exists, or when the file is empty', async () => {
    for (const [cachedOpen, raced, size] of [[true, false, 10], [false, true, 10], [true, true, 0]] as const) {
      const q = new Queue();
      const { pages, node, calls } = pageCache(q, cachedOpen);
      if (raced) q.marks.dropping(node.id)();
      const guard = pages.attrRequest(node, q.getattr());
      await guard.beforeReply(size, async () => Buffer.from('z'));
      guard.done();
      assert.deepEqual(calls, [], `cached open ${cachedOpen}, raced ${raced}, size ${size}`);
    }
  });

  it('drops the stored byte\'s page again when another drop was sent while the byte was read', async () => {
    const q = new Queue();
    const { pages, node, calls } = pageCache(q);
    q.marks.dropping(node.id)();
    const guard = pages.attrRequest(node, q.getattr());
    await guard.beforeReply(5000, async () => {
      q.marks.dropping(node.id)(); // a revoke's drop: a READ after it may cache newer bytes than this one
      return Buffer.from('y');
    });
    guard.done();
    assert.deepEqual(calls, ['read starting 500', `store ${node.id} @4999 y`, `drop ${node.id} @4096+4096`, 'read answered 500']);
  });
});
