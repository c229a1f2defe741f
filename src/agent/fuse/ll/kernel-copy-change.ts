import type { VopOf, VopResults, VopRunner } from '../../vop';

type ChangingOp = 'write' | 'copyFileRange' | 'truncate';

/**
 * Runs `vop` (a write, copy_file_range or truncate) with `drop`, the drop
 * of what the kernel caches of the bytes it changes, as its
 * beforeRelease: the coherency hook runs it before the op's tokens go
 * (coherency/kernel-copy-drop.ts, which waits a bounded time); when
 * nothing did (the op failed before it changed anything, or no such hook
 * runs), it runs after the op. Once either way, and awaited before the
 * op's reply unless `awaitDrop` is false (a truncate: the kernel drops
 * those pages itself at the reply, and one its drop must write back waits
 * for that reply).
 */
export async function runDroppingKernelCopy<N extends ChangingOp>(
  run: VopRunner, vop: VopOf<N>, drop: () => Promise<void>, awaitDrop = true,
): Promise<VopResults[N]> {
  let dropped: Promise<void> | undefined;
  const once = (): Promise<void> => (dropped ??= drop());
  vop.beforeRelease = once;
  try {
    return await run(vop);
  } finally {
    if (awaitDrop) await once();
    else void once().catch(() => undefined);
  }
}
