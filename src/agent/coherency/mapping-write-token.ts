import { WHOLE_FILE } from '../../common/byte-range';
import type { Logger } from '../../common/logger';
import { coversKernelPages } from './kernel-file-pages';
import type { TokenCache } from './token-cache';

/**
 * Claims data WRITE over the whole of `resource` and leaves it idle in the
 * token cache (docs/fuse.md, "Writable shared mappings"): true when this
 * host now holds a token the kernel may cache pages under. A read-write
 * open answered without direct_io may be mapped MAP_SHARED, and a store
 * through such a mapping dirties a page with no request to the agent, so
 * the pages must lie under WRITE before the open's reply; every path that
 * gives that token up drops (and so writes back) the pages first. Never
 * throws: a refusal answers the open direct_io, as before.
 */
export async function holdWholeFileWrite(tokens: TokenCache, resource: string, signal: AbortSignal, logger: Logger): Promise<boolean> {
  const req = { resource, space: 'data' as const, mode: 'WRITE' as const, range: WHOLE_FILE };
  try {
    const use = tokens.tryUse(req) ?? (await tokens.use(req, signal));
    try {
      return coversKernelPages(use.token);
    } finally {
      use.done();
    }
  } catch (e) {
    logger.debug('no whole-file WRITE token for a read-write cached open: direct_io', { resource, error: (e as Error).message });
    return false;
  }
}
