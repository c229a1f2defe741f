import { WHOLE_FILE } from '../../common/byte-range';
import type { Next, VopOf } from '../vop';
import type { CoherencyCore } from './coherency-core';

/**
 * SEEK_DATA / SEEK_HOLE under data READ and attr READ on the whole file:
 * where the holes are depends on every byte another host may hold dirty
 * (its WRITE is revoked, so it flushes first) and on the size. This
 * host's own dirty pages reach the backing store first too, since the
 * backing store answers: a range written here and not yet flushed is data,
 * not a hole.
 */
export async function seekUnderTokens(core: CoherencyCore, vop: VopOf<'lseek'>, next: Next, ino: number): Promise<number> {
  const key = core.resourceOf(ino);
  const uses = await core.tokens.useAll([
    { resource: key, space: 'data', mode: 'READ', range: WHOLE_FILE },
    { resource: key, space: 'attr', mode: 'READ', range: WHOLE_FILE },
  ], vop.signal);
  try {
    await core.writeBack.flush(key);
    return (await next(vop)) as number;
  } finally {
    for (const u of uses) u.done();
  }
}
