import { LoopSlicer } from '../../../src/common/loop-slicer';

/**
 * A real LoopSlicer on a fake CPU clock: every question about the time
 * costs `stepMs`, so a slice holds about sliceMs / stepMs of them, and
 * the loop "comes round" only when the test calls nextSlice().
 */
export function steppedSlicer(opsPerSlice: number) {
  let nowMs = 0;
  const deferred: Array<() => void> = [];
  const slicer = new LoopSlicer({ sliceMs: 1, now: () => (nowMs += 1 / opsPerSlice), defer: (fn) => deferred.push(fn), onError: (e) => { throw e; } });
  return {
    slicer,
    /** Lets the loop come round once; false when nothing was waiting for it. */
    nextSlice(): boolean {
      const fns = deferred.splice(0);
      for (const fn of fns) fn();
      return fns.length > 0;
    },
    /** Lets the loop come round until nothing waits; returns how many times it did. */
    drain(limit = 1_000_000): number {
      let n = 0;
      while (deferred.length > 0 && n < limit) {
        for (const fn of deferred.splice(0)) fn();
        n++;
      }
      return n;
    },
  };
}
