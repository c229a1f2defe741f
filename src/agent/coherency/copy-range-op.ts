import { isValidOffset, WHOLE_FILE } from '../../common/byte-range';
import { SessionLostError } from '../../common/errors';
import { ErrnoError } from '../backing/errno-error';
import type { Next, VopOf, VopResults } from '../vop';
import type { CoherencyCore } from './coherency-core';
import { tokenRequest, type TokenMode, type TokenUse } from './held-token';
import { dropKernelCopy } from './kernel-copy-drop';
import { fileRefOf } from './page';

/** The most one copy_file_range request copies (a short count: callers ask again); its bytes ride in one journal record. */
export const COPY_CHUNK_BYTES = 16 * 1024 * 1024;

type CopyVop = VopOf<'copyFileRange'>;
type CopyResult = VopResults['copyFileRange'];

/**
 * copy_file_range under the tokens a read of the source range and a write
 * of the destination range take (docs/fuse.md, "copy_file_range"): data
 * READ on [offsetIn, offsetIn + length) of the source, data WRITE on
 * [offset, offset + length) of the destination, and attr READ of the
 * destination, WRITE when the copy may grow it (or this host holds WRITE
 * already). This host's dirty bytes of both ranges reach the store first
 * (the kernel copies store to store: the source's must be in it, and a
 * later flush of the destination's would write old bytes over the copy);
 * afterwards this host's clean pages of the destination go. The kernel's
 * own pages of the destination are dropped by the caller's beforeRelease
 * before the tokens go, as after a WRITE (kernel-copy-drop.ts).
 *
 * Refused with EINVAL: flags, bad offsets, and ranges of one file that
 * overlap (as copy_file_range(2) does). Under DIRECT tokens (a contended
 * file) EOPNOTSUPP: the kernel then copies through READ and WRITE, which
 * DIRECT serves, for this call only.
 */
export async function copyUnderTokens(core: CoherencyCore, vop: CopyVop, next: Next, ino: number): Promise<CopyResult> {
  const { args } = vop;
  if (args.flags !== 0) throw new ErrnoError('EINVAL', 'copy_file_range flags must be 0');
  if (!isValidOffset(args.offsetIn) || !isValidOffset(args.offset) || !Number.isSafeInteger(args.length) || args.length < 0) {
    throw new ErrnoError('EINVAL', 'copy_file_range offsets and length must be non-negative integers');
  }
  const length = Math.min(args.length, COPY_CHUNK_BYTES);
  if (length === 0) return (await next(vop)) as CopyResult;
  if (args.offsetIn + length > Number.MAX_SAFE_INTEGER || args.offset + length > Number.MAX_SAFE_INTEGER) {
    throw new ErrnoError('EFBIG', 'copy_file_range range past 2^53 - 1');
  }
  const source = { start: args.offsetIn, end: args.offsetIn + length };
  const dest = { start: args.offset, end: args.offset + length };
  if (args.inoIn === ino && source.start < dest.end && dest.start < source.end) {
    throw new ErrnoError('EINVAL', 'copy_file_range ranges of one file overlap');
  }
  args.length = length;
  const { tokens } = core;
  const srcKey = core.resourceOf(args.inoIn);
  const dstKey = core.resourceOf(ino);
  let attrMode: TokenMode = tokens.find(tokenRequest(dstKey, 'attr', 'WRITE', WHOLE_FILE)) ? 'WRITE' : 'READ';
  for (;;) {
    const reqs = [tokenRequest(srcKey, 'data', 'READ', source), tokenRequest(dstKey, 'data', 'WRITE', dest), tokenRequest(dstKey, 'attr', attrMode, WHOLE_FILE)];
    const uses = tokens.tryUseAll(reqs) ?? (await tokens.useAll(reqs, vop.signal));
    let copying = false;
    try {
      if (uses.some((u) => u.token.mode === 'DIRECT')) throw new ErrnoError('EOPNOTSUPP', 'copy_file_range of a file in direct mode goes through READ and WRITE');
      const size = await destSize(core, dstKey, { ...fileRefOf(vop, ino), fh: args.fh }, uses[2]);
      if (dest.end > size && attrMode === 'READ') {
        attrMode = 'WRITE'; // it may grow: again, holding attr WRITE (the uses are released by finally)
        continue;
      }
      if (core.client.isFenced()) throw new SessionLostError('LEASE_DEADLINE_PASSED', 'agent is fenced: no copies', { op: vop.op });
      vop.fencingToken = uses[1].token.fencingToken;
      await core.writeBack.flush(srcKey, source);
      await core.writeBack.flush(dstKey, dest);
      let result: CopyResult;
      const at = core.wallClockMs();
      copying = true;
      try {
        result = (await next(vop)) as CopyResult;
      } finally {
        // Clean pages of the whole destination go (its dirty ones stay): the copied range changed under them, and a
        // page that held the old end of file is no longer where the file ends.
        core.pages.dropClean(dstKey);
      }
      if (args.offset + result.copied > size) core.attrs.setSize(dstKey, args.offset + result.copied, result.copied);
      if (result.copied > 0) core.attrs.modified(dstKey, at);
      return result;
    } finally {
      if (copying) await dropKernelCopy(vop, dstKey, core);
      for (const u of uses) u.done();
    }
  }
}

/** The destination's size as this host knows it under its attr token (a stat on a miss), with its unflushed writes. */
async function destSize(core: CoherencyCore, key: string, ref: { ino: number; path: string; fh: number }, attrUse: TokenUse): Promise<number> {
  let size = core.attrs.get(key)?.size;
  if (size === undefined) {
    const st = await core.backing.stat(ref);
    if (attrUse.token.alive) core.attrs.set(key, st);
    size = st.size;
  }
  return Math.max(size, core.pages.file(key)?.dirtyEnd ?? 0);
}
