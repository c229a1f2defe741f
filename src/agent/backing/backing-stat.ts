import type { Stats, StatsFs } from 'fs';
import { VopStat, VopStatfs } from '../vop';

export function toVopStat(st: Stats): VopStat {
  return {
    ino: st.ino,
    mode: st.mode,
    nlink: st.nlink,
    uid: st.uid,
    gid: st.gid,
    rdev: st.rdev,
    size: st.size,
    blksize: st.blksize,
    blocks: st.blocks,
    atimeMs: Math.floor(st.atimeMs),
    // Not floored: the kernel revalidates cached pages by mtime (AUTO_INVAL_DATA), and two writes within one
    // millisecond must differ (docs/fuse.md, "The page cache"). The fraction keeps well under a microsecond.
    mtimeMs: st.mtimeMs,
    ctimeMs: Math.floor(st.ctimeMs),
  };
}

/** NAME_MAX of the usual Linux filesystems; Node's statfs does not report it. */
const NAME_MAX = 255;

export function toVopStatfs(st: StatsFs): VopStatfs {
  return {
    bsize: st.bsize,
    frsize: st.bsize,
    blocks: st.blocks,
    bfree: st.bfree,
    bavail: st.bavail,
    files: st.files,
    ffree: st.ffree,
    favail: st.ffree,
    fsid: 0,
    flag: 0,
    namemax: NAME_MAX,
  };
}
