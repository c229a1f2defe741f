import { constants } from 'fs';
import { WHOLE_FILE } from '../../common/byte-range';
import type { Next, Vop, VopOf, VopResult, VopResults, VopStat } from '../vop';
import { modifiedAt } from './attr-cache';
import type { CoherencyCore } from './coherency-core';
import { tokenRequest, type TokenMode, type TokenRequest, type TokenSpace } from './held-token';
import { NewFileTokens } from './new-file-tokens';

const RENAME_EXCHANGE = 2;

/** Ops that add or remove entries of a directory (dir WRITE on the parent(s)). */
export type DirChangeVop = VopOf<'create'> | VopOf<'mkdir'> | VopOf<'mknod'> | VopOf<'symlink'> | VopOf<'unlink'> | VopOf<'rmdir'> | VopOf<'rename'> | VopOf<'link'>;
/** Ops that change a file's attributes (attr WRITE). */
export type AttrChangeVop = VopOf<'chmod'> | VopOf<'chown'> | VopOf<'utimens'> | VopOf<'setxattr'> | VopOf<'removexattr'>;

/**
 * Metadata under tokens: getattr from the attr cache (attr READ), attribute
 * changes under attr WRITE, directory changes under dir WRITE on the
 * parent(s), readdir under dir READ.
 *
 * Directory entries are not cached (the kernel asks again with
 * entry_timeout=0 anyway, and a cached entry's stat would need the child's
 * attr token): dir tokens order directory changes across hosts, and a dir
 * revoke drops the directory's cached attributes.
 */
export class MetaOps {
  private readonly newFile: NewFileTokens;

  constructor(private readonly core: CoherencyCore) {
    this.newFile = new NewFileTokens(core);
  }

  async getattr(vop: VopOf<'getattr'>, next: Next, ino: number): Promise<VopStat> {
    const { tokens, attrs, pages } = this.core;
    const key = this.core.resourceOf(ino);
    const [use] = await tokens.useAll([this.req(key, 'attr', 'READ')], vop.signal);
    try {
      if (use.token.mode === 'DIRECT') return await this.core.direct.getattr(vop, next, key);
      // The kernel revalidates pages read under DIRECT by size and mtime: those come from the store (kernel-pages.ts).
      let st = this.core.kernel.pages.hasStray(key) ? undefined : attrs.get(key);
      if (!st) {
        st = (await next(vop)) as VopStat;
        // Writes of this host not flushed yet move the store's times only when they reach it.
        const file = pages.file(key);
        if (file && pages.hasDirtyIn(file, WHOLE_FILE)) st = modifiedAt(st, this.core.wallClockMs());
        // A directory's size, times and link count change with its entries, which the attr token does not cover.
        if (use.token.alive && (st.mode & constants.S_IFMT) !== constants.S_IFDIR) attrs.set(key, st);
      }
      const dirtyEnd = pages.file(key)?.dirtyEnd ?? 0;
      return { ...st, size: Math.max(st.size, dirtyEnd) };
    } finally {
      use.done();
    }
  }

  async changeAttr(vop: AttrChangeVop, next: Next, ino: number): Promise<VopResult> {
    const key = this.core.resourceOf(ino);
    return this.under(vop, [this.req(key, 'attr', 'WRITE')], async () => {
      // Later flushes would move mtime again: set times only on flushed data.
      if (vop.op === 'utimens') await this.core.writeBack.flush(key);
      try {
        return await next(vop);
      } finally {
        this.core.attrs.drop(key);
      }
    });
  }

  async changeDir(vop: DirChangeVop, next: Next): Promise<VopResult> {
    const reqs: TokenRequest[] = [];
    const parents = new Set<number>();
    if (vop.parentIno !== undefined) parents.add(vop.parentIno);
    if (vop.op === 'rename' && vop.args.destParentIno !== undefined) parents.add(vop.args.destParentIno);
    for (const p of parents) reqs.push(this.req(this.core.resourceOf(p), 'dir', 'WRITE'));
    // unlink, rmdir, rename and link change the entry's own inode (link count, ctime); unlink and
    // rmdir may free it for reuse, so every host's cached data of it goes too (data WRITE revokes it).
    const target = vop.op === 'unlink' || vop.op === 'rmdir' || vop.op === 'rename' || vop.op === 'link' ? vop.ino : undefined;
    const removes = vop.op === 'unlink' || vop.op === 'rmdir';
    if (target !== undefined) {
      reqs.push(this.req(this.core.resourceOf(target), 'attr', 'WRITE'));
      if (removes) reqs.push(this.req(this.core.resourceOf(target), 'data', 'WRITE'));
    }
    // A rename also changes the entry it lands on: replaced (its link count drops; it may be freed,
    // so every host's cached data of it goes) or, with RENAME_EXCHANGE, moved to the source's name.
    const displaced = vop.op === 'rename' && vop.args.destIno !== undefined && vop.args.destIno !== target ? vop.args.destIno : undefined;
    const exchange = vop.op === 'rename' && ((vop.args.flags ?? 0) & RENAME_EXCHANGE) !== 0;
    if (displaced !== undefined) {
      reqs.push(this.req(this.core.resourceOf(displaced), 'attr', 'WRITE'));
      if (!exchange) reqs.push(this.req(this.core.resourceOf(displaced), 'data', 'WRITE'));
    }
    if (reqs.length === 0) return next(vop);
    return this.under(vop, reqs, async () => {
      try {
        const result = await next(vop);
        if (vop.op === 'rename' && target !== undefined) this.renamed(target, vop.path, vop.args.dest);
        if (vop.op === 'rename' && displaced !== undefined) {
          if (exchange) this.renamed(displaced, vop.args.dest, vop.path);
          else this.forgetClean(displaced);
        }
        if (removes && target !== undefined) this.forgetClean(target);
        const created = createdIno(vop, result);
        if (created !== undefined) this.forgetClean(created);
        // A create that opened a file another host had just made (existed): that host is likely writing it.
        const fresh = vop.op === 'create' && created !== undefined && !(result as VopResults['create']).existed;
        // The kernel may be about to install a parent's attributes from a GETATTR answered before
        // this change (it marks them stale on the reply, but takes a racing reply): bump their version first.
        await Promise.all([
          ...[...parents].map((p) => this.core.kernel.dropAttrs(this.core.resourceOf(p))),
          fresh && created !== undefined ? this.newFile.hold(created, (result as VopResults['create']).stat, vop.signal) : undefined,
        ]);
        return result;
      } finally {
        for (const p of parents) this.core.attrs.drop(this.core.resourceOf(p));
        if (target !== undefined) this.core.attrs.drop(this.core.resourceOf(target));
        if (displaced !== undefined) this.core.attrs.drop(this.core.resourceOf(displaced));
      }
    });
  }

  async readdir(vop: VopOf<'readdir'>, next: Next, ino: number): Promise<VopResult> {
    return this.under(vop, [this.req(this.core.resourceOf(ino), 'dir', 'READ')], () => next(vop));
  }

  /** Runs fn holding all the tokens; the first one's fencing token goes on the vop (for the journal). */
  private async under<T>(vop: Vop, reqs: TokenRequest[], fn: () => Promise<T>): Promise<T> {
    const uses = await this.core.tokens.useAll(reqs, vop.signal);
    try {
      vop.fencingToken = uses[0].token.fencingToken;
      vop.heldTokens = uses.map((u) => ({ resource: u.token.resource, space: u.token.space, fencingToken: u.token.fencingToken }));
      return await fn();
    } finally {
      for (const u of uses) u.done();
    }
  }

  /** Drops clean pages and attributes of an inode that was freed or is new (inode numbers are reused). */
  private forgetClean(ino: number): void {
    const key = this.core.resourceOf(ino);
    this.core.attrs.drop(key);
    this.core.pages.dropClean(key);
  }

  private renamed(ino: number, from: string, to: string): void {
    const file = this.core.pages.file(this.core.resourceOf(ino));
    if (file && file.ref.path === from) file.ref = { ...file.ref, path: to };
  }

  private req(resource: string, space: TokenSpace, mode: TokenMode): TokenRequest {
    return tokenRequest(resource, space, mode, WHOLE_FILE);
  }
}

/** The inode a create, mkdir, mknod or symlink made. */
function createdIno(vop: DirChangeVop, result: VopResult): number | undefined {
  if (vop.op === 'create') return (result as VopResults['create']).stat.ino;
  if (vop.op === 'mkdir' || vop.op === 'mknod' || vop.op === 'symlink') return (result as VopStat).ino;
  return undefined;
}
