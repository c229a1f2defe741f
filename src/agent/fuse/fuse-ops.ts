import { isCoherdError } from '../../common/errors';
import { Logger } from '../../common/logger';
import { hasErrnoCode } from '../backing/errno-error';
import { VopRunner } from '../vop';
import { fuseErrnoOf } from './fuse-errno';
import { VopBuilder } from './vop-builder';

type Cb = (code: number, ...values: unknown[]) => void;

export interface FuseOpsDeps {
  run: VopRunner;
  vops: VopBuilder;
  logger: Logger;
}

/**
 * The fuse-native ops table: every op builds a vop and runs it through the
 * composed hook chain; nothing here touches the backing store directly.
 * Every handler catches everything and answers with an errno: no
 * exception reaches fuse-native, and every request gets exactly one reply.
 *
 * Signatures are fuse-native 2.2.6's real ones (fsync is
 * `(path, datasync, fd, cb)`; read/write reply with the byte count as the
 * first argument). getattr, fgetattr, readdir, statfs, getxattr and
 * listxattr are adapted by AgentFuse and get vop-level values.
 */
export function createFuseOps(deps: FuseOpsDeps): Record<string, (...args: never[]) => void> {
  const { run, vops } = deps;
  const logger = deps.logger.child({ component: 'fuse-ops' });

  /** Runs `work` and replies exactly once: `ok(value)` gives the reply's arguments; any error becomes -errno. */
  function serve<T>(op: string, cb: Cb, work: () => Promise<T>, ok: (value: T) => unknown[]): void {
    let replied = false;
    const reply = (args: unknown[]) => {
      if (replied) return;
      replied = true;
      try {
        cb(...(args as [number, ...unknown[]]));
      } catch (e) {
        logger.error('fuse reply threw', { op, error: e });
      }
    };
    const fail = (e: unknown) => {
      const { name, code } = fuseErrnoOf(e);
      if (isUnexpected(e)) logger.error('vop failed unexpectedly', { op, errno: name, error: e });
      else if (logger.isDebugEnabled()) logger.debug('vop failed', { op, errno: name });
      reply([code]);
    };
    let promise: Promise<T>;
    try {
      promise = work();
    } catch (e) {
      return fail(e);
    }
    promise.then((value) => {
      let args: unknown[];
      try {
        args = ok(value);
      } catch (e) {
        return fail(e);
      }
      reply(args);
    }, fail);
  }
  const done = () => [0];

  return {
    // Adapted by AgentFuse: reply(code, vop-level value).
    getattr: (path: string, cb: Cb) => serve('getattr', cb, async () => run(await vops.getattrOnPath(path)), (st) => [0, st]),
    fgetattr: (path: string, fh: number, cb: Cb) => serve('fgetattr', cb, () => run(vops.onHandle('getattr', path, fh, { fh })), (st) => [0, st]),
    readdir: (path: string, cb: Cb) => serve('readdir', cb, async () => run(await vops.onPath('readdir', path, {})), (e) => [0, e]),
    statfs: (path: string, cb: Cb) => serve('statfs', cb, async () => run(await vops.onPath('statfs', path, {})), (s) => [0, s]),
    getxattr: (path: string, name: string, cb: Cb) =>
      serve('getxattr', cb, async () => run(await vops.onPath('getxattr', path, { name })), (v) => [0, v]),
    listxattr: (path: string, cb: Cb) => serve('listxattr', cb, async () => run(await vops.onPath('listxattr', path, {})), (n) => [0, n]),

    // fuse-native's own adapters.
    access: (path: string, mode: number, cb: Cb) => serve('access', cb, async () => run(await vops.onPath('access', path, { mode })), done),
    open: (path: string, flags: number, cb: Cb) =>
      serve('open', cb, async () => run(await vops.onPath('open', path, { flags })), (r) => [0, r.fh]),
    create: (path: string, mode: number, cb: Cb) =>
      serve('create', cb, async () => run(await vops.onEntry('create', path, { mode }, false)), (r) => [0, r.fh]),
    read: (path: string, fh: number, buffer: Buffer, length: number, offset: number, cb: Cb) =>
      serve('read', cb, () => run(vops.onHandle('read', path, fh, { fh, buffer, length, offset })), (n) => [n]),
    write: (path: string, fh: number, data: Buffer, length: number, offset: number, cb: Cb) =>
      serve('write', cb, () => run(vops.onHandle('write', path, fh, { fh, data: data.subarray(0, length), offset })), (n) => [n]),
    flush: (path: string, fh: number, cb: Cb) => serve('flush', cb, () => run(vops.onHandle('flush', path, fh, { fh })), done),
    fsync: (path: string, datasync: number, fh: number, cb: Cb) =>
      serve('fsync', cb, () => run(vops.onHandle('fsync', path, fh, { fh, datasync: datasync !== 0 })), done),
    fsyncdir: (path: string, datasync: number, fh: number, cb: Cb) =>
      serve('fsyncdir', cb, async () => run(await vops.onPath('fsyncdir', path, { fh, datasync: datasync !== 0 })), done),
    release: (path: string, fh: number, cb: Cb) => serve('release', cb, () => run(vops.onHandle('release', path, fh, { fh })), done),
    truncate: (path: string, size: number, cb: Cb) =>
      serve('truncate', cb, async () => run(await vops.onPath('truncate', path, { size })), done),
    ftruncate: (path: string, fh: number, size: number, cb: Cb) =>
      serve('ftruncate', cb, () => run(vops.onHandle('truncate', path, fh, { size, fh })), done),
    unlink: (path: string, cb: Cb) => serve('unlink', cb, async () => run(await vops.onEntry('unlink', path, {}, true)), done),
    rmdir: (path: string, cb: Cb) => serve('rmdir', cb, async () => run(await vops.onEntry('rmdir', path, {}, true)), done),
    mkdir: (path: string, mode: number, cb: Cb) => serve('mkdir', cb, async () => run(await vops.onEntry('mkdir', path, { mode }, false)), done),
    mknod: (path: string, mode: number, dev: number, cb: Cb) =>
      serve('mknod', cb, async () => run(await vops.onEntry('mknod', path, { mode, dev }, false)), done),
    rename: (path: string, dest: string, cb: Cb) =>
      serve('rename', cb, async () => {
        const [vop, destParent] = await Promise.all([vops.onEntry('rename', path, { dest }, true), vops.onEntry('rename', dest, { dest }, false)]);
        vop.args.destParentIno = destParent.parentIno;
        return run(vop);
      }, done),
    // link(existing, new): the vop is on the existing file; its parentIno is the new name's directory.
    link: (path: string, dest: string, cb: Cb) =>
      serve('link', cb, async () => {
        const [vop, entry] = await Promise.all([vops.onPath('link', path, { dest }), vops.onEntry('link', dest, { dest }, false)]);
        vop.parentIno = entry.parentIno;
        return run(vop);
      }, done),
    // fuse-native passes symlink(target, linkPath).
    symlink: (target: string, path: string, cb: Cb) =>
      serve('symlink', cb, async () => run(await vops.onEntry('symlink', path, { target }, false)), done),
    readlink: (path: string, cb: Cb) => serve('readlink', cb, async () => run(await vops.onPath('readlink', path, {})), (t) => [0, t]),
    chmod: (path: string, mode: number, cb: Cb) => serve('chmod', cb, async () => run(await vops.onPath('chmod', path, { mode })), done),
    chown: (path: string, uid: number, gid: number, cb: Cb) =>
      serve('chown', cb, async () => run(await vops.onPath('chown', path, { uid, gid })), done),
    // fuse-native 2.2.6 passes atime twice (its C adapter never sends mtime), and libfuse
    // only calls utimens when both times change: mtime can only be set to the same value.
    utimens: (path: string, atimeMs: number, _mtimeMs: number, cb: Cb) =>
      serve('utimens', cb, async () => run(await vops.onPath('utimens', path, { atimeMs, mtimeMs: atimeMs })), done),
    setxattr: (path: string, name: string, value: Buffer, _position: number, flags: number, cb: Cb) =>
      serve('setxattr', cb, async () => run(await vops.onPath('setxattr', path, { name, value, flags })), done),
    removexattr: (path: string, name: string, cb: Cb) =>
      serve('removexattr', cb, async () => run(await vops.onPath('removexattr', path, { name })), done),
  };
}

/** Errno-coded fs errors and domain errors with a reason are expected outcomes; anything else is a bug worth a stack. */
function isUnexpected(e: unknown): boolean {
  if (hasErrnoCode(e)) return false;
  return !(isCoherdError(e) && e.reason !== 'INTERNAL');
}
