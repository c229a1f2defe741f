import { CancelledError } from '../../common/errors';

export function cancelled(): CancelledError {
  return new CancelledError('CANCELLED', 'file operation cancelled while waiting for a token');
}

/** p, or a CancelledError as soon as the vop's signal aborts (p itself goes on). */
export function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
