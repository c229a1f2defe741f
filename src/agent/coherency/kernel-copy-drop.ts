import type { Clock } from '../../common/clock';
import type { Logger } from '../../common/logger';
import type { VopOf } from '../vop';

/** The ops whose bytes the kernel may hold old copies of: a write, a copy_file_range's destination. */
type ChangingVop = VopOf<'write'> | VopOf<'copyFileRange'>;

/** How long a write keeps its tokens for the kernel's drop of the bytes it replaced (see dropKernelCopy). */
export const KERNEL_COPY_DROP_HOLD_MS = 1000;

/**
 * Runs the write's (or copy_file_range's) `beforeRelease`, the FUSE
 * layer's drop of the kernel's copy of the bytes it replaced, while the
 * caller still holds the op's tokens. Other hosts see the bytes once those tokens go (their
 * request revokes them); if this host's kernel dropped its copy only
 * afterwards, a process here could read, through a mapping or cached
 * pages, the old bytes after another host had read the new ones (chaos
 * seed 20261205: agent-1's mapping showed its own older record 25 ms after
 * agent-0 read the one agent-1 was writing).
 *
 * Bounded: the drop waits for page locks of this host's READs in flight,
 * and such a READ may wait for a grant queued behind another host's
 * request, which waits for these very tokens. Past KERNEL_COPY_DROP_HOLD_MS
 * the tokens go and the drop finishes after them (logged: the old window).
 * Long enough for READs a slow store answers (chaos slow-store adds up to
 * 400 ms to each store call), so the bound is met only in that deadlock.
 */
export async function dropKernelCopy(vop: ChangingVop, clock: Clock, logger: Logger): Promise<void> {
  const drop = vop.beforeRelease?.();
  if (drop === undefined) return;
  let timedOut = false;
  let timer: { cancel(): void } | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = clock.setTimer(KERNEL_COPY_DROP_HOLD_MS, () => {
      timedOut = true;
      resolve();
    });
  });
  try {
    await Promise.race([drop.catch(() => undefined), bound]);
  } finally {
    timer?.cancel();
  }
  if (timedOut) logger.warn('the kernel\'s drop of a write\'s old bytes outlasted the hold: the write\'s tokens go first', { path: vop.path, ino: vop.ino, holdMs: KERNEL_COPY_DROP_HOLD_MS });
}
