import { ByteRange } from '../../common/byte-range';
import type { RevokeAnswer } from '../client/types';
import type { TokenMode, TokenSpace } from './held-token';

export interface RevokedToken {
  space: TokenSpace;
  mode: TokenMode;
  range: ByteRange;
  /** The lock version the token's shape belongs to; the answer names it. */
  version: number;
}

/**
 * What to keep of a token another host needs part of (DESIGN §3.3):
 * - wanted READ, held WRITE: downgrade the whole token to READ (clean pages
 *   stay valid: the other host only reads);
 * - wanted READ, held READ: nothing conflicts, keep it as it is;
 * - held DIRECT (whatever is wanted), or wanted DIRECT: release (DIRECT
 *   conflicts with every caching mode and covers the whole file);
 * - attr/dir tokens otherwise: release (one token per resource);
 * - data tokens otherwise: keep the part outside the needed range when it is
 *   one contiguous piece; when the needed range sits strictly inside, keep
 *   the larger side (a token is one range); release when nothing is left.
 */
export function planRevoke(token: RevokedToken, needed: ByteRange, wantedMode: TokenMode): RevokeAnswer {
  // A DIRECT token is whole-file and has no weaker form: someone caching needs it gone.
  if (token.mode === 'DIRECT') return { released: true };
  if (wantedMode === 'READ') return { released: false, mode: 'READ', range: { ...token.range }, version: token.version };
  if (token.space !== 'data') return { released: true };
  const { start, end } = token.range;
  const left = { start, end: Math.min(end, Math.max(start, needed.start)) };
  const right = { start: Math.max(start, Math.min(end, needed.end)), end };
  const leftLen = left.end - left.start;
  const rightLen = right.end - right.start;
  if (leftLen <= 0 && rightLen <= 0) return { released: true };
  const keep = leftLen >= rightLen ? left : right;
  return { released: false, mode: token.mode, range: keep, version: token.version };
}

/**
 * The bytes whose caching changes under the answer: all of the token when
 * it is released or its mode changes, the dropped part when it shrinks,
 * undefined when nothing changes.
 */
export function affectedRange(token: RevokedToken, answer: RevokeAnswer): ByteRange | undefined {
  if (answer.released || answer.mode !== token.mode) return { ...token.range };
  const kept = answer.range;
  if (kept.start <= token.range.start && kept.end >= token.range.end) return undefined;
  if (kept.start > token.range.start) return { start: token.range.start, end: kept.start };
  return { start: kept.end, end: token.range.end };
}
