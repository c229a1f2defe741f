import { CancelledError, InternalError } from '../../common/errors';
import { Hook, Next, Terminal, Vop, VopResult, VopRunner } from '../vop';

/**
 * Composes hooks around a terminal, outermost first:
 * `compose([journal, coherency, rangeLock], backing)` runs journal, which
 * calls next → coherency → rangeLock → backing (DESIGN §7).
 *
 * - A vop whose signal is already aborted is not passed on: the stage it
 *   would enter rejects with CancelledError (EINTR). Once the terminal has
 *   started, it runs to completion (a reply must never race the kernel's
 *   buffers).
 * - A hook may pass a different vop object to `next` (e.g. with a changed
 *   argument); calling `next` twice is a bug and rejects with InternalError.
 * - A hook or terminal that throws synchronously becomes a rejection.
 */
export function compose(hooks: readonly Hook[], terminal: Terminal): VopRunner {
  const chain = hooks.slice();
  for (const [i, hook] of chain.entries()) {
    if (typeof hook !== 'function') throw new InternalError('INTERNAL', 'hook is not a function', { index: i });
  }

  const stage = (index: number, vop: Vop): Promise<VopResult> => {
    if (vop.signal.aborted) {
      return Promise.reject(new CancelledError('CANCELLED', 'vop cancelled', { op: vop.op, path: vop.path }, { cause: vop.signal.reason }));
    }
    if (index === chain.length) return invoke(() => terminal(vop));
    let called = false;
    const next: Next = (nextVop) => {
      if (called) {
        return Promise.reject(new InternalError('INTERNAL', 'hook called next twice', { index, op: vop.op }));
      }
      called = true;
      return stage(index + 1, nextVop);
    };
    return invoke(() => chain[index](vop, next));
  };

  return ((vop: Vop) => stage(0, vop)) as VopRunner;
}

function invoke(fn: () => Promise<VopResult>): Promise<VopResult> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}
