import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { END_OF_FILE } from '../../src/common/byte-range';
import { silentLogger } from '../../src/common/logger';
import { HeldToken, type TokenMode } from '../../src/agent/coherency/held-token';
import { KernelPages, MAX_PAGE_PASSES } from '../../src/agent/coherency/kernel-pages';

const KEY = 'ns/7';
let nextLockId = 1;

function token(mode: TokenMode, range = { start: 0, end: END_OF_FILE }): HeldToken {
  return new HeldToken({ lockId: nextLockId++, resource: KEY, space: 'data', mode, range, owner: '', fencingToken: { epoch: 1, counter: nextLockId }, uncached: false, version: 1 });
}

/** KernelPages over a recording invalidator; `duringDrop` runs inside each drop (a READ arriving while the kernel drops pages). */
function pagesWith(duringDrop: (drops: number) => void = () => undefined) {
  let drops = 0;
  const kp = new KernelPages(silentLogger());
  kp.attach(async (ino) => {
    assert.equal(ino, 7);
    drops++;
    duringDrop(drops);
  });
  return { kp, drops: () => drops };
}

const immediate = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('kernel pages under data tokens', () => {
  it('lets a cached open keep its pages only while the whole-file token they were read under is held', () => {
    const { kp } = pagesWith();
    const t = token('READ');
    assert.equal(kp.opened(KEY, 7), true, 'nothing cached yet: nothing to drop');
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
    await kp.beforeGiveUp(token('DIRECT'));
    assert.equal(drops(), 0);
  });

  it('drops nothing for a file no cached open ever read', async () => {
    const { kp, drops } = pagesWith();
    await kp.beforeGiveUp(token('READ'));
    assert.equal(drops(), 0);
  });

  it('drops pages a READ under a DIRECT token cached, right after the reply and before a GETATTR is answered', async () => {
    const { kp, drops } = pagesWith();
    kp.opened(KEY, 7);
    kp.served(KEY, token('DIRECT'));
    await immediate();
    assert.equal(drops(), 1, 'dropped after the reply');
    kp.served(KEY, token('DIRECT'));
    await kp.beforeGetattr(KEY);
    assert.ok(drops() >= 2, 'a GETATTR (read(2) of a cached open sends one) waits for the drop');
    const before = drops();
    await immediate();
    await kp.beforeGetattr(KEY);
    assert.equal(drops(), before, 'nothing stray is left: no further drop');
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
