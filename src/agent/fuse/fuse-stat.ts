import { VopStat, VopStatfs } from '../vop';

const TWO_32 = 4294967296;
const UINT32_MAX = 0xffffffff;

function setUint64(arr: Uint32Array, index: number, value: number): void {
  const v = Math.max(0, Math.floor(value));
  arr[index] = v % TWO_32;
  arr[index + 1] = Math.floor(v / TWO_32);
}

/**
 * fuse-native's stat wire format (Uint32Array(18), see its getStatArray):
 * mode uid gid size(2) dev nlink ino rdev blksize blocks(2) atime(2)
 * mtime(2) ctime(2), times in ms. st_ino is 32 bits on this wire: inode
 * numbers ≥ 2^32 are reported modulo 2^32 (vop.ino keeps the full number).
 */
export function toStatArray(st: VopStat): Uint32Array {
  const a = new Uint32Array(18);
  a[0] = st.mode;
  a[1] = st.uid;
  a[2] = st.gid;
  setUint64(a, 3, st.size);
  a[5] = 0;
  a[6] = st.nlink;
  a[7] = st.ino % TWO_32;
  a[8] = st.rdev % TWO_32;
  a[9] = st.blksize;
  setUint64(a, 10, st.blocks);
  setUint64(a, 12, st.atimeMs);
  setUint64(a, 14, st.mtimeMs);
  setUint64(a, 16, st.ctimeMs);
  return a;
}

/**
 * fuse-native's statvfs wire format (Uint32Array(11)). Block counts above
 * 2^32 − 1 are scaled down by doubling the fragment size, so df stays
 * right on large backing filesystems; inode counts are clamped.
 */
export function toStatfsArray(st: VopStatfs): Uint32Array {
  let { frsize, blocks, bfree, bavail } = st;
  while (blocks > UINT32_MAX) {
    frsize *= 2;
    blocks = Math.floor(blocks / 2);
    bfree = Math.floor(bfree / 2);
    bavail = Math.floor(bavail / 2);
  }
  const clamp = (n: number) => Math.min(UINT32_MAX, Math.max(0, Math.floor(n)));
  return Uint32Array.from([
    clamp(st.bsize), clamp(frsize), clamp(blocks), clamp(bfree), clamp(bavail),
    clamp(st.files), clamp(st.ffree), clamp(st.favail), clamp(st.fsid), clamp(st.flag), clamp(st.namemax),
  ]);
}
