/** Monotonic milliseconds for measuring (not for deciding anything in coherd). */
export function nowMs(): number {
  return performance.now();
}

/** Thrown when a benchmark step exceeds its time bound. */
export class StepTimeoutError extends Error {
  override readonly name = 'StepTimeoutError';
}

/**
 * A measurement that failed part-way: what it measured before the failure
 * is kept (the run records both the metrics and the error).
 */
export class PartialMeasurementError extends Error {
  override readonly name = 'PartialMeasurementError';
  constructor(
    message: string,
    readonly metrics: Record<string, number>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Thrown when the run was interrupted (SIGINT/SIGTERM). */
export class BenchAbortedError extends Error {
  override readonly name = 'BenchAbortedError';
  constructor() {
    super('benchmark interrupted');
  }
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new BenchAbortedError();
}

/** Resolves after ms, or rejects with BenchAbortedError when signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new BenchAbortedError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new BenchAbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Rejects with StepTimeoutError if `promise` has not settled within ms (the promise itself is not cancelled). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => finish(() => reject(new BenchAbortedError()));
    const timer = setTimeout(() => finish(() => reject(new StepTimeoutError(`${what} did not finish within ${ms} ms`))), ms);
    let done = false;
    function finish(settle: () => void): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    }
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => finish(() => resolve(v)),
      (e) => finish(() => reject(e)),
    );
  });
}
