import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * fuse-native operation handlers that pass every call to a backing
 * directory with async fs calls. Results follow fuse-native's callback
 * conventions: `cb(errno)` with a negative errno or 0; read/write give the
 * byte count (or a negative errno) as the first argument.
 */

type Cb = (result: number, ...rest: unknown[]) => void;

/** Node fs error → negative errno for fuse-native (EIO if unknown). */
function errno(err: NodeJS.ErrnoException | null): number {
  if (!err) return 0;
  return typeof err.errno === 'number' && err.errno < 0 ? err.errno : -5;
}

export function passthroughOps(backingDir: string): Record<string, (...args: any[]) => void> {
  const root = path.resolve(backingDir);
  /** FUSE paths are absolute within the mount; never let one leave root. */
  const real = (p: string): string => path.join(root, path.posix.normalize('/' + p));
  const done = (cb: Cb) => (err: NodeJS.ErrnoException | null) => cb(errno(err));

  return {
    init: (cb: Cb) => cb(0),
    statfs: (p: string, cb: Cb) =>
      fs.statfs(real(p), (err, s) => {
        if (err) return cb(errno(err));
        cb(0, { bsize: s.bsize, frsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, favail: s.ffree, fsid: 0, flag: 0, namemax: 255 });
      }),
    getattr: (p: string, cb: Cb) => fs.lstat(real(p), (err, st) => (err ? cb(errno(err)) : cb(0, st))),
    access: (p: string, mode: number, cb: Cb) => fs.access(real(p), mode, done(cb)),
    readdir: (p: string, cb: Cb) => fs.readdir(real(p), (err, names) => (err ? cb(errno(err)) : cb(0, names))),
    readlink: (p: string, cb: Cb) => fs.readlink(real(p), (err, target) => (err ? cb(errno(err)) : cb(0, target))),
    open: (p: string, flags: number, cb: Cb) => fs.open(real(p), flags, (err, fd) => (err ? cb(errno(err)) : cb(0, fd))),
    create: (p: string, mode: number, cb: Cb) =>
      fs.open(real(p), fs.constants.O_CREAT | fs.constants.O_RDWR, mode, (err, fd) => (err ? cb(errno(err)) : cb(0, fd))),
    read: (_p: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb) =>
      fs.read(fd, buf, 0, len, pos, (err, n) => cb(err ? errno(err) : n)),
    write: (_p: string, fd: number, buf: Buffer, len: number, pos: number, cb: Cb) =>
      fs.write(fd, buf, 0, len, pos, (err, n) => cb(err ? errno(err) : n)),
    flush: (_p: string, _fd: number, cb: Cb) => cb(0),
    // fuse-native's real signature (DESIGN §7), not its README's.
    fsync: (_p: string, datasync: number, fd: number, cb: Cb) => (datasync ? fs.fdatasync(fd, done(cb)) : fs.fsync(fd, done(cb))),
    release: (_p: string, fd: number, cb: Cb) => fs.close(fd, done(cb)),
    truncate: (p: string, size: number, cb: Cb) => fs.truncate(real(p), size, done(cb)),
    ftruncate: (_p: string, fd: number, size: number, cb: Cb) => fs.ftruncate(fd, size, done(cb)),
    utimens: (p: string, atime: number, mtime: number, cb: Cb) => fs.utimes(real(p), atime / 1000, mtime / 1000, done(cb)),
    chmod: (p: string, mode: number, cb: Cb) => fs.chmod(real(p), mode, done(cb)),
    chown: (p: string, uid: number, gid: number, cb: Cb) => fs.chown(real(p), uid, gid, done(cb)),
    unlink: (p: string, cb: Cb) => fs.unlink(real(p), done(cb)),
    rename: (src: string, dest: string, cb: Cb) => fs.rename(real(src), real(dest), done(cb)),
    link: (src: string, dest: string, cb: Cb) => fs.link(real(src), real(dest), done(cb)),
    symlink: (target: string, p: string, cb: Cb) => fs.symlink(target, real(p), done(cb)),
    mkdir: (p: string, mode: number, cb: Cb) => fs.mkdir(real(p), { mode }, done(cb)),
    rmdir: (p: string, cb: Cb) => fs.rmdir(real(p), done(cb)),
  };
}
