import { WHOLE_FILE } from '../../common/byte-range';
import type { VopStat } from '../vop';
import type { CoherencyCore } from './coherency-core';
import type { TokenRequest, TokenUse } from './held-token';

/**
 * Longest a create waits for its new file's tokens before it answers
 * without them (they then arrive in the background, as a prefetch). A
 * grant of tokens nobody else holds takes one round trip (well under a
 * millisecond); a longer wait means another host holds tokens of a reused
 * inode number, and the create holds its directory's WRITE token meanwhile.
 */
export const NEW_FILE_TOKENS_WAIT_MS = 50;

/**
 * The tokens a file gets as its create completes: attr WRITE and data
 * WRITE over the whole file, asked for together (one round trip) while the
 * create still holds its directory's WRITE token. The kernel stats a new
 * file right after the create (the permission check of the open) and the
 * application writes it next; holding both tokens before the reply, the
 * reply's attributes are cached (kernel and agent alike), so neither the
 * stat nor the write asks anyone.
 *
 * Why the create's own stat may be cached under tokens granted after it:
 * no other host can know the new inode before it learns the name, and the
 * name is visible to other hosts only under dir READ of the directory,
 * which conflicts with the dir WRITE this create holds in use until the
 * tokens are here. An inode number reused from a file that is gone may
 * still have tokens elsewhere; nobody can reach the new file through them.
 */
export class NewFileTokens {
  constructor(private readonly core: CoherencyCore) {}

  /** Claims the new file's tokens (bounded wait), caches `stat` under them, and leaves them idle. Never throws. */
  async hold(ino: number, stat: VopStat, signal: AbortSignal): Promise<void> {
    const key = this.core.resourceOf(ino);
    const reqs: TokenRequest[] = [
      { resource: key, space: 'attr', mode: 'WRITE', range: WHOLE_FILE },
      { resource: key, space: 'data', mode: 'WRITE', range: WHOLE_FILE },
    ];
    const uses = this.core.tokens.tryUseAll(reqs) ?? (await this.claimBounded(reqs, signal, ino));
    if (!uses) return;
    try {
      // Nothing is cached under a DIRECT token: the store itself is read each time.
      if (uses.every((u) => u.token.alive && u.token.mode !== 'DIRECT')) this.core.attrs.set(key, stat);
    } finally {
      for (const u of uses) u.done();
    }
  }

  /** useAll, given up after NEW_FILE_TOKENS_WAIT_MS (a grant still in flight then goes to the idle LRU). */
  private claimBounded(reqs: TokenRequest[], signal: AbortSignal, ino: number): Promise<TokenUse[] | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (uses: TokenUse[] | undefined): void => {
        if (settled) {
          for (const u of uses ?? []) u.done();
          return;
        }
        settled = true;
        timer.cancel();
        resolve(uses);
      };
      const timer = this.core.clock.setTimer(NEW_FILE_TOKENS_WAIT_MS, () => finish(undefined));
      this.core.tokens.useAll(reqs, signal).then(finish, (e: unknown) => {
        // The create happened: it is answered without the tokens.
        this.core.logger.debug('new file tokens not held at create', { ino, error: (e as Error).message });
        finish(undefined);
      });
    });
  }
}
