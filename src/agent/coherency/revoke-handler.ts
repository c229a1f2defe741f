import { ByteRange, END_OF_FILE } from '../../common/byte-range';
import type { FilePages } from './page';
import type { Logger } from '../../common/logger';
import type { RevokeAnswer, RevokeNotice } from '../client/types';
import type { AttrCache } from './attr-cache';
import type { HeldToken, TokenMode } from './held-token';
import type { KernelCache } from './kernel-cache';
import type { PageCache } from './page-cache';
import { affectedRange, planRevoke } from './revoke-plan';
import type { TokenCache } from './token-cache';
import type { WriteBack } from './write-back';

/** The caches a token protects. */
export interface ProtectedCaches {
  tokens: TokenCache;
  pages: PageCache;
  writeBack: WriteBack;
  attrs: AttrCache;
  /** The kernel's cache on the mount (absent: the kernel caches nothing). */
  kernel?: KernelCache;
  logger?: Logger;
}

/**
 * The client's revoke handler (TokenClient.setRevokeHandler). For the
 * revoked token: stop new vops on the bytes that change, wait for the
 * in-flight ones, flush dirty pages, drop what may no longer be cached,
 * then shrink, downgrade or release it and answer. Revokes of one token
 * run one after another.
 */
export function createRevokeHandler(caches: ProtectedCaches): (notice: RevokeNotice) => Promise<RevokeAnswer> {
  return async (notice) => {
    const token = caches.tokens.byId(notice.lockId);
    if (!token) {
      // The client knows a grant this cache has not seen yet: never use it.
      caches.tokens.noteOrphanRevoke(notice.lockId);
      return { released: true };
    }
    if (notice.wantedMode === 'DIRECT') caches.kernel?.pages.sawDirect(token.resource);
    return token.exclusive(async (): Promise<RevokeAnswer> => {
      // Plan against the shape the token has now; if a conversion's grant changes it while the
      // flush runs, plan again: an answer must reduce the version it names, never an older shape.
      for (;;) {
        if (!token.alive) return { released: true };
        const version = token.version;
        const answer = planRevoke(token, notice.range, wantedTokenMode(notice.wantedMode));
        const affected = affectedRange(token, answer);
        if (!affected) return answer;
        // The kernel's pages go while the token still serves READs (a pass waits on READs holding page locks); then
        // the token is blocked in the same tick, so no READ can cache a page after the last pass unseen.
        await caches.kernel?.pages.beforeGiveUp(token);
        if (!token.alive || token.version !== version) continue;
        token.block(affected);
        try {
          await token.waitIdle(affected);
          await giveUp(caches, token, answer);
          if (!token.alive || token.version !== version) continue;
          caches.tokens.apply(token, answer);
          caches.logger?.debug('token revoked', { lockId: token.lockId, resource: token.resource, space: token.space, answer });
          return answer;
        } finally {
          token.unblock();
        }
      }
    });
  };
}

function dirtyIn(file: FilePages | undefined, range: ByteRange): boolean {
  if (file === undefined) return false;
  for (const p of file.dirty) if (p.offset + p.dirtyStart < range.end && range.start < p.offset + p.dirtyEnd) return true;
  return false;
}

/** The mode a revoke asks room for; a DIRECT waiter needs every caching token gone, like a WRITE one. */
function wantedTokenMode(mode: string): TokenMode {
  return mode === 'READ' ? 'READ' : mode === 'DIRECT' ? 'DIRECT' : 'WRITE';
}

/** Flushes and drops what the token covered so the answer can be given (also used when retiring idle tokens). */
export async function giveUp(caches: ProtectedCaches, token: HeldToken, answer: RevokeAnswer): Promise<void> {
  const { pages, writeBack, attrs } = caches;
  const key = token.resource;
  if (token.mode === 'DIRECT') return; // nothing is cached or dirty under a DIRECT token
  if (token.space === 'attr') {
    // Under attr WRITE the dirty data may extend the file: its size must be on the backing store first.
    if (token.mode === 'WRITE') await writeBack.flush(key);
    attrs.drop(key);
    // The kernel may hold these attributes with a timeout: it drops them before the token goes.
    await caches.kernel?.dropAttrs(key);
    return;
  }
  if (token.space === 'dir') {
    // A downgrade to READ keeps the names valid: nobody else may change the directory meanwhile.
    if (answer.released || answer.mode !== 'READ') await caches.kernel?.dropDir(key);
    return;
  }
  if (token.space !== 'data') return;
  const affected = affectedRange(token, answer);
  if (!affected) return;
  if (token.mode === 'WRITE') {
    await writeBack.flush(key, affected);
    // Another WRITE token of this host may write into a shared page meanwhile, and its extent may merge
    // across into `affected` (the merge is allowed under its own range): flush again until none is left.
    for (let i = 0; i < 8 && dirtyIn(pages.file(key), affected); i++) await writeBack.flush(key, affected);
  }
  const file = pages.file(key);
  if (!file) return;
  const keepsPages = !answer.released && answer.mode === 'READ' && token.mode === 'WRITE';
  if (token.mode === 'READ') {
    // Dirty pages under a READ token are covered by another WRITE token of this agent: they stay
    // until that token is flushed (its own revoke or retirement). Only clean pages go.
    pages.dropRange(file, affected, true);
  } else if (!keepsPages) {
    const lost = pages.dropRange(file, affected);
    if (lost > 0 && !writeBack.hasError(key)) {
      caches.logger?.error('dirty pages dropped on revoke without a flush error', { resource: key, pages: lost });
    }
  }
  const keptEof = !answer.released && answer.range.end === END_OF_FILE;
  if (token.range.end === END_OF_FILE && !keptEof) pages.forgetEof(file);
}

/**
 * A convert shrank a READ token: clean pages outside it are no longer
 * covered. Dirty bytes there belong to another WRITE token of this agent and stay.
 */
export function dropUncovered(caches: ProtectedCaches, token: HeldToken, lost: { start: number; end: number }): void {
  const file = caches.pages.file(token.resource);
  if (!file || token.space !== 'data') return;
  caches.pages.dropRange(file, lost, true);
  if (lost.end === END_OF_FILE) caches.pages.forgetEof(file);
}
