import { WHOLE_FILE } from '../../common/byte-range';
import type { Next, VopOf } from '../vop';
import type { CoherencyCore } from './coherency-core';

/**
 * fallocate under attr WRITE and data WRITE on the whole file: it may
 * change the size (mode 0), and punching or zeroing a range changes bytes
 * every host may cache. Dirty pages reach the backing store first (a later
 * flush must not write old bytes over a punched hole); afterwards this
 * host's clean pages and cached attributes of the file are dropped, and
 * other hosts lost theirs when their tokens were revoked.
 */
export async function fallocateUnderTokens(core: CoherencyCore, vop: VopOf<'fallocate'>, next: Next, ino: number): Promise<void> {
  const key = core.resourceOf(ino);
  const uses = await core.tokens.useAll([
    { resource: key, space: 'attr', mode: 'WRITE', range: WHOLE_FILE },
    { resource: key, space: 'data', mode: 'WRITE', range: WHOLE_FILE },
  ], vop.signal);
  try {
    vop.fencingToken = uses[1].token.fencingToken;
    await core.writeBack.flush(key);
    try {
      await next(vop);
    } finally {
      core.pages.dropClean(key);
      core.attrs.drop(key);
    }
  } finally {
    for (const u of uses) u.done();
  }
}
