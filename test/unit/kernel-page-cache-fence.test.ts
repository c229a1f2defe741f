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
function link(allow: boolean, asked: string[]): KernelCacheLink {
  return {
    openCached: (ino: number) => { asked.push(`open ${ino}`); return allow ? { keepCache: false } : undefined; },
    releasedCached: (ino: number) => { asked.push(`release ${ino}`); },
  } as unknown as KernelCacheLink;
}

const node = (id: number, ino: number) => ({ id, ino }) as unknown as PathNode;
const O_RDONLY = 0;
const O_RDWR = 2;

describe('the page cache\'s use of the cache fence', () => {
  it('lists a node before it answers a cached open, and takes it off at the last release', () => {
    const fence = new RecordingFence(10);
    const asked: string[] = [];
    const pages = new KernelPageCache(new PathNodeTable(1), link(true, asked), silentLogger());
    pages.setFence(fence);
    assert.deepEqual(pages.opened(node(5, 500), O_RDONLY, 1), { directIo: false, keepCache: false });
    assert.deepEqual(pages.opened(node(5, 500), O_RDONLY, 2), { directIo: false, keepCache: false });
    assert.equal(fence.counts.get(5), 2);
    pages.released(1);
    assert.equal(fence.counts.get(5), 1);
    pages.released(2);
    assert.equal(fence.counts.has(5), false);
    assert.deepEqual(asked, ['open 500', 'open 500', 'release 500', 'release 500']);
  });

  it('answers direct_io when the fence cannot list the node, without asking the coherency layer', () => {
    const fence = new RecordingFence(1);
    const asked: string[] = [];
    const pages = new KernelPageCache(new PathNodeTable(1), link(true, asked), silentLogger());
    pages.setFence(fence);
    assert.equal(pages.opened(node(5, 500), O_RDONLY, 1).directIo, false);
    assert.deepEqual(pages.opened(node(6, 600), O_RDONLY, 2), { directIo: true });
    assert.deepEqual(asked, ['open 500']);
    pages.released(2); // a direct_io handle: nothing to release
    assert.deepEqual([...fence.counts.keys()], [5]);
  });

  it('takes the node off again when the coherency layer answers the open direct_io, and lists nothing for a writable open', () => {
    const fence = new RecordingFence(10);
    const pages = new KernelPageCache(new PathNodeTable(1), link(false, []), silentLogger());
    pages.setFence(fence);
    assert.deepEqual(pages.opened(node(5, 500), O_RDONLY, 1), { directIo: true });
    assert.deepEqual(pages.opened(node(6, 600), O_RDWR, 2), { directIo: true });
    assert.equal(fence.counts.size, 0);
  });
});
