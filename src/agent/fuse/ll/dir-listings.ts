import type { VopBuilder } from '../vop-builder';
import type { VopDirEntry, VopRunner } from '../../vop';
import type { AddonDirEntry } from './fuse-addon';
import type { DirBatch } from './low-level-ops';
import type { PathNode, PathNodeTable } from './path-node-table';

/** Bytes of one readdirplus entry before its name (struct fuse_direntplus), names padded to 8. */
const DIRENTPLUS_BYTES = 152;

/**
 * The open directory handles of the agent's low-level ops: a listing is
 * read once per pass (at offset 0, through the hook chain as a `readdir`
 * vop) and handed to the kernel in readdirplus batches.
 */
export class DirListings {
  private readonly dirs = new Map<number, { path: string; entries: VopDirEntry[] | null }>();
  private nextDir = 1;

  constructor(private readonly run: VopRunner, private readonly vops: VopBuilder, private readonly nodes: PathNodeTable) {}

  open(dir: PathNode): number {
    const fh = this.nextDir++;
    this.dirs.set(fh, { path: dir.path, entries: null });
    return fh;
  }

  async batch(dir: PathNode, fh: number, size: number, offset: number): Promise<DirBatch> {
    const d = this.dirs.get(fh);
    if (!d) throw Object.assign(new Error('EBADF'), { code: 'EBADF' });
    if (offset === 0 || !d.entries) d.entries = await this.run(await this.vops.onPath('readdir', dir.path, {}));
    const out: AddonDirEntry[] = [];
    let bytes = 0;
    for (let i = offset; i < d.entries.length; i++) {
      const e = d.entries[i];
      bytes += DIRENTPLUS_BYTES + ((Buffer.byteLength(e.name) + 7) & ~7);
      if (bytes > size) break;
      if (!e.stat) continue;
      const dot = e.name === '.' || e.name === '..';
      const ino = dot ? 0 : this.nodes.ref(e.stat.ino, this.nodes.childPath(dir, e.name)).id;
      // These attributes come from the directory listing, not from under the entry's attr token
      // (nor with this host's unflushed size): the kernel takes them but never keeps them.
      out.push({ name: e.name, off: i + 1, ino, generation: 1, attr: e.stat, attrTimeout: 0, entryTimeout: 0 });
    }
    return { entries: out, sent: (count) => { for (const e of out.slice(count)) if (e.ino !== 0) this.nodes.forget(e.ino, 1); } };
  }

  close(fh: number): void {
    this.dirs.delete(fh);
  }
}
