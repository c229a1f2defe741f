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
    mtimeMs: Math.floor(st.mtimeMs),
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
