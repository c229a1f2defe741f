import type { Clock } from '../../common/clock';
import type { Logger } from '../../common/logger';
import type { VopOf } from '../vop';
import type { TokenCache } from './token-cache';

/** The ops whose bytes the kernel may hold old copies of: a write, a copy_file_range's destination, a truncate. */
type ChangingVop = VopOf<'write'> | VopOf<'copyFileRange'> | VopOf<'truncate'>;

/** How long an op keeps its tokens for the kernel's drop of the bytes it replaced (see dropKernelCopy). */
export const KERNEL_COPY_DROP_HOLD_MS = 1000;

/** While it holds them, how often it looks for a vop of the same file waiting for a token. */
export const KERNEL_COPY_DROP_POLL_MS = 5;

export interface KernelCopyDropDeps {
  clock: Clock;
  logger: Logger;
  tokens: Pick<TokenCache, 'waiting'>;
}

/**
 * Runs the write's (copy_file_range's, truncate's) `beforeRelease`, the
 * FUSE layer's drop of the kernel's copy of the bytes it changed, while the
 * caller still holds the op's tokens (`key`: the file's resource). Other
 * hosts see the bytes once those tokens go (their request revokes them);
 * if this host's kernel dropped its copy only afterwards, a process here
 * could read, through a mapping or cached pages, the old bytes after
 * another host had read the new ones (chaos seed 20261205: agent-1's
 * mapping showed its own older record 25 ms after agent-0 read the one
 * agent-1 was writing).
 *
 * The drop waits for the page locks of this host's READs of the file in
 * flight, and such a READ may wait for a grant queued behind another
 * host's request, which waits for these very tokens. So the hold ends as
 * soon as a vop of this file waits for a token (for the coordinator, or
 * for a revoke that blocks it: that READ reads after, the new bytes), and
 * at KERNEL_COPY_DROP_HOLD_MS in any
 * case (logged); the drop then finishes after the tokens went, the old
 * window. The bound leaves room for READs a slow store answers (chaos
 * slow-store adds up to 400 ms to each store call).
 */
export async function dropKernelCopy(vop: ChangingVop, key: string, deps: KernelCopyDropDeps): Promise<void> {
  const drop = vop.beforeRelease?.();
  if (drop === undefined) return;
  let timer: { cancel(): void } | undefined;
  const started = deps.clock.nowMs();
  const released = new Promise<'waited' | 'bound'>((resolve) => {
    const look = (): void => {
      if (deps.tokens.waiting(key, 'data')) return resolve('waited');
      const left = KERNEL_COPY_DROP_HOLD_MS - (deps.clock.nowMs() - started);
      if (left <= 0) return resolve('bound');
      timer = deps.clock.setTimer(Math.min(KERNEL_COPY_DROP_POLL_MS, left), look);
    };
    look();
  });
  let outcome: 'dropped' | 'waited' | 'bound';
  try {
    outcome = await Promise.race([drop.then(() => 'dropped' as const, () => 'dropped' as const), released]);
  } finally {
    timer?.cancel();
  }
  if (outcome === 'bound') deps.logger.warn('the kernel\'s drop of an op\'s old bytes outlasted the hold: its tokens go first', { path: vop.path, ino: vop.ino, holdMs: KERNEL_COPY_DROP_HOLD_MS });
  if (outcome === 'waited') deps.logger.debug('a vop of the file waits for a token: the op\'s tokens go before the kernel\'s drop is done', { path: vop.path, ino: vop.ino });
}
