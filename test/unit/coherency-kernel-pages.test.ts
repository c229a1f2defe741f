import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { END_OF_FILE } from '../../src/common/byte-range';
import { silentLogger } from '../../src/common/logger';
import { HeldToken, type TokenMode } from '../../src/agent/coherency/held-token';
import { DIRECT_RECENT_MS, KernelPages, MAX_PAGE_PASSES, READ_SETTLE_PAUSE_MS } from '../../src/agent/coherency/kernel-pages';

const KEY = 'ns/7';
let nextLockId = 1;

function token(mode: TokenMode, range = { start: 0, end: END_OF_FILE }): HeldToken {
  return new HeldToken({ lockId: nextLockId++, resource: KEY, space: 'data', mode, range, owner: '', fencingToken: { epoch: 1, counter: nextLockId }, uncached: false, version: 1 });
}

/** KernelPages over a recording invalidator; `duringDrop` runs inside each drop (a READ arriving while the kernel drops pages). */
function pagesWith(duringDrop: (drops: number) => void = () => undefined, nowMs: () => number = () => 0) {
  let drops = 0;
  const ranges: Array<[number, number]> = [];
  const kp = new KernelPages(silentLogger(), false, nowMs);
  kp.attach(async (ino, offset, length) => {
    assert.equal(ino, 7);
    drops++;
    ranges.push([offset, length]);
    duringDrop(drops);
  });
  return { kp, drops: () => drops, ranges };
}

const uncachedFields = () => ({ lockId: 0, resource: KEY, space: 'data' as const, mode: 'READ' as const, range: { start: 0, end: END_OF_FILE }, owner: '', fencingToken: { epoch: 1, counter: 1 }, uncached: true, version: 1 });

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('kernel pages under data tokens', () => {
  it('lets a cached open keep its pages only while the whole-file token they were read under is held', () => {
    const { kp } = pagesWith();
    const t = token('READ');
    assert.equal(kp.opened(KEY, 7), false, 'nothing recorded: whatever the kernel has goes');
    kp.readStarting(KEY);
    kp.served(KEY, t);
    assert.equal(kp.opened(KEY, 7), true);
    t.alive = false;
    assert.equal(kp.opened(KEY, 7), false, 'the token is gone: the kernel must drop its pages at this open');
  });

  it('asks for whole-file reads exactly while a cached open exists', () => {
    const { kp } = pagesWith();
    assert.equal(kp.wholeFileReads(KEY), false);
    kp.opened(KEY, 7);
    assert.equal(kp.wholeFileReads(KEY), true);
    kp.released(KEY);
    assert.equal(kp.wholeFileReads(KEY), false);
  });

  it('drops the pages before a token they lie under is given up, and again while READs keep arriving during a pass', async () => {
    let kp!: KernelPages;
    const pages = pagesWith((n) => { if (n < 3) kp.readStarting(KEY); });
    kp = pages.kp;
    const t = token('READ');
    kp.opened(KEY, 7);
    kp.readStarting(KEY);
    kp.served(KEY, t);
    await kp.beforeGiveUp(t);
    assert.equal(pages.drops(), 3, 'passes 1 and 2 saw a READ start, pass 3 saw none');
  });

  it('gives up after MAX_PAGE_PASSES when every pass sees a READ (a hot reader), without hanging', async () => {
    let kp!: KernelPages;
    const pages = pagesWith(() => kp.readStarting(KEY));
    kp = pages.kp;
    const t = token('READ');
    kp.opened(KEY, 7);
    kp.served(KEY, t);
    await kp.beforeGiveUp(t);
    assert.equal(pages.drops(), MAX_PAGE_PASSES);
  });

  it('lets READs in flight be answered and their readers take the pages before a pass drops them (no retry livelock)', async () => {
    // The kernel side, as chaos showed it: a drop that meets a READ holding its page lock waits for the
    // reply and takes the page before the reader (a page fault, a read(2)) got it, so the reader sends
    // the READ again, which the next pass meets: 16 passes, then the revoke answered with a page cached.
    const slept: number[] = [];
    let kp!: KernelPages;
    let drops = 0;
    let inFlight: Promise<void> | undefined;
    const startRead = (): void => {
      const ticket = kp.readStarting(KEY);
      const answered = immediate().then(() => {
        kp.readAnswered(KEY, ticket);
        if (inFlight === answered) inFlight = undefined;
      });
      inFlight = answered;
    };
    kp = new KernelPages(silentLogger(), false, () => 0, async (ms) => { slept.push(ms); await immediate(); });
    kp.attach(async () => {
      drops++;
      const meets = inFlight;
      if (!meets) return;
      await meets; // waits for the page lock, then takes the page: its reader reads again
      startRead();
    });
    const t = token('READ');
    kp.opened(KEY, 7);
    kp.served(KEY, t);
    startRead(); // a reader's READ is in flight when the revoke begins
    await kp.beforeGiveUp(t);
    assert.equal(drops, 1, 'one pass, after the READ was answered');
    assert.deepEqual(slept.slice(1), [READ_SETTLE_PAUSE_MS], 'its reader got a pause to take the page');
    assert.equal(inFlight, undefined);
  });

  it('drops the pages when any data token of a cached file goes: a READ in flight under it is recorded only once served', async () => {
    const { kp, drops } = pagesWith();
    kp.opened(KEY, 7);
    kp.readStarting(KEY); // in flight: not served yet
    await kp.beforeGiveUp(token('READ'));
    assert.equal(drops(), 1);
  });

  it('runs no pass for a token over a part of the file (a pass could wait on a READ waiting for a blocked whole-file token)', async () => {
    const { kp, drops } = pagesWith();
    kp.opened(KEY, 7);
    kp.served(KEY, token('READ'));
    await kp.beforeGiveUp(token('READ', { start: 0, end: 4096 }));
    assert.equal(drops(), 0);
  });

  it('drops pages read under an uncached whole-file token when that token goes (a shared mapping has nothing else to revalidate it), not for a part of the file', async () => {
    const { kp, drops } = pagesWith();
    kp.opened(KEY, 7);
    kp.readStarting(KEY);
    const uncached = new HeldToken({ ...uncachedFields(), lockId: nextLockId++ });
    kp.served(KEY, uncached);
    assert.equal(kp.hasStray(KEY), true);
    await kp.beforeGiveUp(token('READ', { start: 0, end: 4096 }));
    assert.equal(drops(), 0, 'a part of the file does not serve the whole-file READs a pass may wait on');
    await kp.beforeGiveUp(uncached);
    assert.equal(drops(), 1);
    assert.equal(kp.hasStray(KEY), false, 'nothing stray is left');
    // Nothing stray now, but a READ in flight under an uncached or DIRECT token may cache a page after the check
    // began (chaos register-mmap: served 1 ms after a revoke found nothing stray): its revoke drops all the same.
    await kp.beforeGiveUp(new HeldToken({ ...uncachedFields(), lockId: nextLockId++ }));
    await kp.beforeGiveUp(token('DIRECT'));
    assert.equal(drops(), 3);
    kp.released(KEY);
    await kp.beforeGiveUp(token('DIRECT'));
    assert.equal(drops(), 3, 'no cached open and nothing stray: nothing to drop');
  });

  it('drops nothing for a file no cached open ever read', async () => {
    const { kp, drops } = pagesWith();
    await kp.beforeGiveUp(token('READ'));
    assert.equal(drops(), 0);
  });

  it('never drops pages a READ under a DIRECT token cached (a drop would race the GETATTR read(2) sends), but the next open does not keep them', async () => {
    const { kp, drops } = pagesWith();
    kp.opened(KEY, 7);
    kp.served(KEY, token('DIRECT'));
    kp.served(KEY, token('DIRECT'));
    await immediate();
    assert.equal(drops(), 0);
    assert.equal(kp.opened(KEY, 7), false);
  });

  it('refuses cached opens of a file served under DIRECT for DIRECT_RECENT_MS', () => {
    let now = 1000;
    const { kp } = pagesWith(undefined, () => now);
    assert.equal(kp.mayCache(KEY), true);
    kp.sawDirect(KEY);
    now += DIRECT_RECENT_MS - 1;
    assert.equal(kp.mayCache(KEY), false);
    now += 1;
    assert.equal(kp.mayCache(KEY), true);
  });

  it('drops the bytes a write of this host replaced before it is answered, only for a file with a cached open', async () => {
    const { kp, ranges } = pagesWith();
    kp.local.starting(KEY);
    await kp.local.written(KEY, 0, 100);
    assert.deepEqual(ranges, [], 'no cached open: nothing to drop');
    kp.local.starting(KEY);
    kp.opened(KEY, 7); // a cached open made while the write runs
    kp.readStarting(KEY);
    kp.served(KEY, token('READ'));
    await kp.local.written(KEY, 8192, 100);
    assert.deepEqual(ranges, [[8192, 100]]);
  });

  it('drops nothing for a write while the kernel holds no page of the file (no READ since the record, or since a whole-file drop began): the drop would cost a GETATTR in flight its size', async () => {
    let readDuringDrop = false;
    let kp!: KernelPages;
    const { kp: pages, ranges } = pagesWith(() => {
      if (readDuringDrop) kp.readStarting(KEY);
    });
    kp = pages;
    const t = token('READ');
    kp.opened(KEY, 7);
    kp.local.starting(KEY);
    await kp.local.written(KEY, 0, 64);
    assert.deepEqual(ranges, [], 'a cached open that read nothing yet: the kernel has no page');
    kp.readStarting(KEY);
    kp.served(KEY, t);
    kp.local.starting(KEY);
    await kp.local.written(KEY, 0, 64);
    assert.deepEqual(ranges, [[0, 64]], 'a READ was served: its page may hold the old bytes');
    await kp.beforeGiveUp(t);
    kp.local.starting(KEY);
    await kp.local.written(KEY, 0, 64);
    assert.deepEqual(ranges, [[0, 64], [0, 0]], 'the revoke\'s drop took every page, no READ since');
    readDuringDrop = true;
    kp.lost(KEY);
    await immediate();
    readDuringDrop = false;
    kp.local.starting(KEY);
    await kp.local.written(KEY, 0, 64);
    assert.deepEqual(ranges, [[0, 64], [0, 0], [0, 0], [0, 64]], 'a READ arrived during that drop: its page may be there');
  });

  it('drops the file after a READ that ran beside a write of this host, and a revoke waits for that drop', async () => {
    const { kp, ranges } = pagesWith();
    const t = token('READ');
    kp.opened(KEY, 7);
    const quiet = kp.readStarting(KEY);
    kp.served(KEY, t);
    kp.readAnswered(KEY, quiet);
    const beside = kp.readStarting(KEY);
    kp.local.starting(KEY);
    await kp.local.written(KEY, 0, 10);
    kp.served(KEY, t);
    kp.readAnswered(KEY, beside);
    assert.deepEqual(ranges, [[0, 10]], 'the drop comes after the reply, not in the READ');
    await kp.beforeGiveUp(t);
    assert.deepEqual(ranges, [[0, 10], [0, 0], [0, 0]], 'the scheduled drop, then the revoke\'s pass');
  });

  it('drops again for a READ beside a write answered while the previous such drop already runs (it may have passed that READ\'s page)', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => { release = resolve; });
    let kp!: KernelPages;
    const pages = pagesWith();
    kp = pages.kp;
    const ranges: Array<[number, number]> = [];
    kp.attach(async (_ino, offset, length) => { ranges.push([offset, length]); if (ranges.length === 2) await held; });
    const t = token('READ');
    kp.opened(KEY, 7);
    kp.readStarting(KEY);
    kp.served(KEY, t);
    const first = kp.readStarting(KEY);
    const second = kp.readStarting(KEY);
    kp.local.starting(KEY);
    await kp.local.written(KEY, 0, 10);
    kp.readAnswered(KEY, first);
    kp.readAnswered(KEY, first); // not begun yet: one drop takes both pages
    await immediate();
    await immediate();
    assert.deepEqual(ranges, [[0, 10], [0, 0]], 'the scheduled drop runs (and hangs)');
    kp.readAnswered(KEY, second);
    release();
    await kp.beforeGiveUp(t);
    assert.deepEqual(ranges, [[0, 10], [0, 0], [0, 0], [0, 0]], 'a second drop after the running one, then the revoke\'s pass');
  });

  it('schedules no such drop while the file is DIRECT (it could race a later GETATTR; read(2) revalidates by mtime there)', async () => {
    const { kp, ranges } = pagesWith();
    kp.opened(KEY, 7);
    const beside = kp.readStarting(KEY);
    kp.local.starting(KEY);
    await kp.local.written(KEY, 0, 10);
    kp.readAnswered(KEY, beside, true);
    await immediate();
    await immediate();
    assert.deepEqual(ranges, [[0, 10]]);
  });

  it('treats pages read under a part of the file as stray: the next cached open does not keep them', () => {
    const { kp } = pagesWith();
    kp.opened(KEY, 7);
    kp.served(KEY, token('READ', { start: 0, end: 4096 }));
    assert.equal(kp.opened(KEY, 7), false);
  });

  it('drops every file\'s pages when the session is lost', async () => {
    const { kp, drops } = pagesWith();
    kp.opened(KEY, 7);
    kp.served(KEY, token('READ'));
    kp.lostAll();
    await immediate();
    assert.equal(drops(), 1);
  });
});
