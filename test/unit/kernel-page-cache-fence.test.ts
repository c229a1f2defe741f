import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { silentLogger } from '../../src/common/logger';
import type { KernelCacheLink } from '../../src/agent/coherency/kernel-cache';
import type { NodeFence } from '../../src/agent/fuse/fence/cache-fence';
import { KernelPageCache } from '../../src/agent/fuse/ll/kernel-page-cache';
import { PathNodeTable, type PathNode } from '../../src/agent/fuse/ll/path-node-table';

/** The FUSE side's use of the cache fence (docs/fuse.md, "The cache fence"): which nodes it lists, and when. */
class RecordingFence implements NodeFence {
  readonly counts = new Map<number, number>();
  constructor(private readonly room: number) {}
  hold(node: number): boolean {
    if (!this.counts.has(node) && this.counts.size >= this.room) return false;
    this.counts.set(node, (this.counts.get(node) ?? 0) + 1);
    return true;
  }
  release(node: number): void {
    const n = (this.counts.get(node) ?? 0) - 1;
    if (n > 0) this.counts.set(node, n);
    else this.counts.delete(node);
  }
}

/** The coherency side reduced to whether it allows a cached open; records what it was asked. */
function link(allow: boolean, asked: string[], writeHeld = true): KernelCacheLink {
  return {
    openCached: (ino: number, writable?: boolean) => { asked.push(`open ${ino}${writable ? ' rw' : ''}`); return allow ? { keepCache: false } : undefined; },
    holdForMapping: async (ino: number) => { asked.push(`hold WRITE ${ino}`); return writeHeld; },
    pagesWritten: (ino: number) => { asked.push(`pages written ${ino}`); },
    releasedCached: (ino: number, writable?: boolean) => { asked.push(`release ${ino}${writable ? ' rw' : ''}`); },
  } as unknown as KernelCacheLink;
}

const node = (id: number, ino: number) => ({ id, ino }) as unknown as PathNode;
const O_RDONLY = 0;
const O_RDWR = 2;
const O_WRONLY = 1;
const O_APPEND = 0o2000;
const signal = new AbortController().signal;

describe('the page cache\'s use of the cache fence', () => {
  it('lists a node before it answers a cached open, and takes it off at the last release', async () => {
    const fence = new RecordingFence(10);
    const asked: string[] = [];
    const pages = new KernelPageCache(new PathNodeTable(1), link(true, asked), silentLogger());
    pages.setFence(fence);
    assert.deepEqual(await pages.opened(node(5, 500), O_RDONLY, 1, signal), { directIo: false, keepCache: false });
    assert.deepEqual(await pages.opened(node(5, 500), O_RDONLY, 2, signal), { directIo: false, keepCache: false });
    assert.equal(fence.counts.get(5), 2);
    pages.released(1);
    assert.equal(fence.counts.get(5), 1);
    pages.released(2);
    assert.equal(fence.counts.has(5), false);
    assert.deepEqual(asked, ['open 500', 'open 500', 'release 500', 'release 500']);
  });

  it('answers direct_io when the fence cannot list the node, without asking the coherency layer', async () => {
    const fence = new RecordingFence(1);
    const asked: string[] = [];
    const pages = new KernelPageCache(new PathNodeTable(1), link(true, asked), silentLogger());
    pages.setFence(fence);
    assert.equal((await pages.opened(node(5, 500), O_RDONLY, 1, signal)).directIo, false);
    assert.deepEqual(await pages.opened(node(6, 600), O_RDONLY, 2, signal), { directIo: true });
    assert.deepEqual(asked, ['open 500']);
    pages.released(2); // a direct_io handle: nothing to release
    assert.deepEqual([...fence.counts.keys()], [5]);
  });

  it('takes the node off again when the coherency layer answers the open direct_io, read-only or read-write', async () => {
    const fence = new RecordingFence(10);
    const pages = new KernelPageCache(new PathNodeTable(1), link(false, []), silentLogger());
    pages.setFence(fence);
    assert.deepEqual(await pages.opened(node(5, 500), O_RDONLY, 1, signal), { directIo: true });
    assert.deepEqual(await pages.opened(node(6, 600), O_RDWR, 2, signal), { directIo: true });
    assert.equal(fence.counts.size, 0);
  });

  it('caches a read-write open only once this host holds WRITE over the whole file; O_WRONLY and O_APPEND stay direct_io', async () => {
    const fence = new RecordingFence(10);
    const asked: string[] = [];
    const pages = new KernelPageCache(new PathNodeTable(1), link(true, asked), silentLogger(), { writableMappings: true });
    pages.setFence(fence);
    assert.deepEqual(await pages.opened(node(5, 500), O_RDWR, 1, signal), { directIo: false, keepCache: false });
    assert.equal(pages.cachedWrite(node(5, 500), 1), true);
    assert.deepEqual(await pages.opened(node(5, 500), O_WRONLY, 2, signal), { directIo: true });
    assert.deepEqual(await pages.opened(node(5, 500), O_RDWR | O_APPEND, 3, signal), { directIo: true });
    assert.equal(pages.cachedWrite(node(5, 500), 2), false);
    pages.released(1);
    assert.deepEqual(asked, ['open 500 rw', 'hold WRITE 500', 'pages written 500', 'release 500 rw']);
    assert.equal(fence.counts.size, 0);
  });

  it('answers a read-write open direct_io, and lists nothing, when the WRITE token is not had', async () => {
    const fence = new RecordingFence(10);
    const asked: string[] = [];
    const pages = new KernelPageCache(new PathNodeTable(1), link(true, asked, false), silentLogger(), { writableMappings: true });
    pages.setFence(fence);
    assert.deepEqual(await pages.opened(node(5, 500), O_RDWR, 1, signal), { directIo: true });
    assert.equal(pages.cachedWrite(node(5, 500), 1), false);
    assert.deepEqual(asked, ['open 500 rw', 'hold WRITE 500', 'release 500 rw']);
    assert.equal(fence.counts.size, 0);
  });

  it('keeps read-write opens direct_io unless writableMappings is on', async () => {
    const asked: string[] = [];
    const pages = new KernelPageCache(new PathNodeTable(1), link(true, asked), silentLogger());
    assert.deepEqual(await pages.opened(node(5, 500), O_RDWR, 1, signal), { directIo: true });
    assert.deepEqual(asked, []);
  });
});
