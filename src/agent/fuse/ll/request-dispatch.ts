import { constants } from 'os';
import { Logger } from '../../../common/logger';
import { fuseErrnoOf } from '../fuse-errno';
import { FuseAddon } from './fuse-addon';
import { FuseRequest, SetAttr } from './fuse-request';
import { AttrChanges, LowLevelOps, RequestContext } from './low-level-ops';

const E = constants.errno;

/** setattr's request fields as AttrChanges. */
export function attrChangesOf(r: FuseRequest): AttrChanges {
  const v = r.valid ?? 0;
  const c: AttrChanges = {};
  if (v & SetAttr.MODE) c.mode = r.attrMode;
  if (v & SetAttr.UID) c.uid = r.attrUid;
  if (v & SetAttr.GID) c.gid = r.attrGid;
  if (v & SetAttr.SIZE) c.size = r.attrSize;
  if (v & SetAttr.ATIME_NOW) c.atime = 'now';
  else if (v & SetAttr.ATIME) c.atime = { sec: r.atimeSec ?? 0, nsec: r.atimeNsec ?? 0 };
  if (v & SetAttr.MTIME_NOW) c.mtime = 'now';
  else if (v & SetAttr.MTIME) c.mtime = { sec: r.mtimeSec ?? 0, nsec: r.mtimeNsec ?? 0 };
  return c;
}

/**
 * Runs one request against the ops and answers it. Every path ends in
 * exactly one reply (the addon refuses a second one); a thrown error
 * becomes its errno (errno-table.ts), an unknown one EIO.
 */
export class RequestDispatch {
  constructor(private readonly addon: FuseAddon, private readonly ops: LowLevelOps, private readonly logger: Logger) {}

  /** Resolves once the request is answered (never rejects). */
  run(r: FuseRequest, ctx: RequestContext): Promise<void> {
    let p: Promise<unknown> | undefined;
    try {
      p = this.start(r, ctx);
    } catch (e) {
      this.fail(r, e);
      return Promise.resolve();
    }
    if (!p) {
      this.addon.replyErr(r.id, E.ENOSYS);
      return Promise.resolve();
    }
    return p.then(() => undefined, (e) => this.fail(r, e));
  }

  private fail(r: FuseRequest, e: unknown): void {
    const { name, code } = fuseErrnoOf(e);
    if (name === 'EIO') this.logger.debug('fuse request failed', { op: r.op, ino: r.ino, err: (e as Error)?.message });
    this.addon.replyErr(r.id, -code);
  }

  /** Returns undefined when the op is not implemented. */
  private start(r: FuseRequest, ctx: RequestContext): Promise<unknown> | undefined {
    const o = this.ops, a = this.addon, id = r.id;
    const ok = () => { a.replyErr(id, 0); };
    const entry = (e: Parameters<FuseAddon['replyEntry']>[1]) => { a.replyEntry(id, e); };
    const name = r.name ?? '';
    const fh = r.hasFh ? r.fh : undefined;
    switch (r.op) {
      case 'lookup': return o.lookup?.(ctx, r.ino, name).then(entry);
      case 'getattr': return o.getattr?.(ctx, r.ino, fh).then((x) => { a.replyAttr(id, x.attr, x.attrTimeout); });
      case 'setattr': return o.setattr?.(ctx, r.ino, attrChangesOf(r), fh).then((x) => { a.replyAttr(id, x.attr, x.attrTimeout); });
      case 'readlink': return o.readlink?.(ctx, r.ino).then((t) => { a.replyReadlink(id, t); });
      case 'mknod': return o.mknod?.(ctx, r.ino, name, r.mode, r.rdev ?? 0).then(entry);
      case 'mkdir': return o.mkdir?.(ctx, r.ino, name, r.mode).then(entry);
      case 'unlink': return o.unlink?.(ctx, r.ino, name).then(ok);
      case 'rmdir': return o.rmdir?.(ctx, r.ino, name).then(ok);
      case 'symlink': return o.symlink?.(ctx, r.ino, name, r.name2 ?? '').then(entry);
      case 'rename': return o.rename?.(ctx, r.ino, name, r.ino2 ?? 0, r.name2 ?? '', r.flags).then(ok);
      case 'link': return o.link?.(ctx, r.ino, r.ino2 ?? 0, name).then(entry);
      case 'open': return o.open?.(ctx, r.ino, r.flags).then((x) => { this.opened(a.replyOpen(id, x.fh, x), x.fh, r, ctx); });
      case 'create': return o.create?.(ctx, r.ino, name, r.mode, r.flags).then((x) => {
        if (!a.replyCreate(id, x.entry, x.open.fh, x.open)) {
          o.forget?.(x.entry.ino, 1);
          void o.release?.(ctx, x.entry.ino, x.open.fh, 0n, false).catch(() => undefined);
        }
      });
      case 'read': return o.read?.(ctx, r.ino, r.fh, r.size, r.offset).then((b) => { a.replyBuf(id, b, b.length); });
      case 'write': return o.write?.(ctx, r.ino, r.fh, r.data ?? Buffer.alloc(0), r.offset, r.writeback === true).then((n) => { a.replyWrite(id, n); });
      case 'flush': return o.flush?.(ctx, r.ino, r.fh, r.owner ?? 0n).then(ok);
      case 'release': return (o.release?.(ctx, r.ino, r.fh, r.owner ?? 0n, r.flockRelease === true) ?? Promise.resolve()).then(ok);
      case 'fsync': return o.fsync?.(ctx, r.ino, r.fh, r.datasync === true).then(ok);
      case 'fallocate': return o.fallocate?.(ctx, r.ino, r.fh, r.flags, r.offset, r.length ?? 0).then(ok);
      case 'copy_file_range': {
        const out = { ino: r.ino2 ?? 0, fh: r.fhOut ?? 0, offset: r.offsetOut ?? 0 };
        return o.copyFileRange?.(ctx, r.ino, r.fh, r.offset, out, r.length ?? 0, r.flags).then((n) => { a.replyWrite(id, n); });
      }
      case 'lseek': return o.lseek?.(ctx, r.ino, r.fh, r.offset, r.whence ?? -1).then((off) => { a.replyLseek(id, off); });
      case 'opendir': return o.opendir?.(ctx, r.ino, r.flags).then((x) => { this.opened(a.replyOpen(id, x.fh, x), x.fh, r, ctx, true); });
      case 'readdirplus': return o.readdirplus?.(ctx, r.ino, r.fh, r.size, r.offset).then((b) => { b.sent(Math.max(0, a.replyDirplus(id, r.size, b.entries))); });
      case 'releasedir': return (o.releasedir?.(ctx, r.ino, r.fh) ?? Promise.resolve()).then(ok);
      case 'fsyncdir': return o.fsyncdir?.(ctx, r.ino, r.fh, r.datasync === true).then(ok);
      case 'statfs': return o.statfs?.(ctx, r.ino).then((s) => { a.replyStatfs(id, { ...s }); });
      case 'setxattr': return o.setxattr?.(ctx, r.ino, name, r.data ?? Buffer.alloc(0), r.flags).then(ok);
      case 'getxattr': return o.getxattr?.(ctx, r.ino, name, r.size).then((v) => this.xattr(id, r.size, v));
      case 'listxattr': return o.listxattr?.(ctx, r.ino, r.size).then((v) => this.xattr(id, r.size, v));
      case 'removexattr': return o.removexattr?.(ctx, r.ino, name).then(ok);
      case 'access': return o.access?.(ctx, r.ino, r.mask ?? 0).then(ok);
      case 'getlk': return o.getlk?.(ctx, r.ino, r.fh, r.owner ?? 0n, r.lock!).then((l) => { a.replyLock(id, l); });
      case 'setlk': return o.setlk?.(ctx, r.ino, r.fh, r.owner ?? 0n, r.lock!, r.sleep === true).then(ok);
      case 'flock': return o.flock?.(ctx, r.ino, r.fh, r.owner ?? 0n, r.flags).then(ok);
      default: return undefined;
    }
  }

  /** An open the kernel never saw (interrupted, unmounted) is released again. */
  private opened(delivered: boolean, fh: number, r: FuseRequest, ctx: RequestContext, dir = false): void {
    if (delivered) return;
    const p = dir ? this.ops.releasedir?.(ctx, r.ino, fh) : this.ops.release?.(ctx, r.ino, fh, 0n, false);
    void p?.catch(() => undefined);
  }

  private xattr(id: number, size: number, v: Buffer | number): void {
    const len = typeof v === 'number' ? v : v.length;
    if (size === 0 || typeof v === 'number') {
      if (size !== 0 && len > size) this.addon.replyErr(id, E.ERANGE);
      else this.addon.replyXattrSize(id, len);
    } else if (len > size) this.addon.replyErr(id, E.ERANGE);
    else this.addon.replyBuf(id, v, len);
  }
}
