import type { BigIntStats, StatsFs } from 'fs';
import { VopStat, VopStatfs } from '../vop';

const NS_PER_MS = 1_000_000n;

/** The stat option every backing stat uses: BigIntStats carry the times to the nanosecond (toVopStat). */
export const BIGINT_STATS = { bigint: true } as const;

/**
 * A stat as a VopStat, times to the nanosecond. mtimeMs keeps its
 * fraction: the kernel revalidates cached pages by mtime (AUTO_INVAL_DATA),
 * and two writes within one millisecond must differ (docs/fuse.md, "The
 * page cache").
 */
export function toVopStat(st: BigIntStats): VopStat {
  return {
    ino: Number(st.ino), mode: Number(st.mode), nlink: Number(st.nlink), uid: Number(st.uid), gid: Number(st.gid), rdev: Number(st.rdev),
    size: Number(st.size), blksize: Number(st.blksize), blocks: Number(st.blocks),
    atimeMs: msFloor(st.atimeNs),
    mtimeMs: Number(st.mtimeNs) / 1e6,
    ctimeMs: msFloor(st.ctimeNs),
    atimeNs: st.atimeNs,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
  };
}

/** Whole milliseconds of a time in ns (rounded down, also before 1970). */
function msFloor(ns: bigint): number {
  const ms = ns / NS_PER_MS;
  return Number(ns < 0n && ms * NS_PER_MS !== ns ? ms - 1n : ms);
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
