import { LockTableEvent } from './types';

/**
 * Events are delivered synchronously, but only once the operation that
 * caused them has left the table consistent: run() queues what the
 * operation emits and delivers it when the outermost operation ends. A
 * listener may call back into the table; its events join the same queue,
 * in order. If a listener throws, the remaining events are still
 * delivered and the first error is rethrown afterwards.
 */
export class EventOutbox {
  private queue: LockTableEvent[] = [];
  private depth = 0;
  private delivering = false;

  constructor(private readonly listener: (event: LockTableEvent) => void) {}

  emit(event: LockTableEvent): void {
    this.queue.push(event);
  }

  run<T>(operation: () => T): T {
    this.depth++;
    try {
      return operation();
    } finally {
      this.depth--;
      if (this.depth === 0 && !this.delivering) this.deliver();
    }
  }

  private deliver(): void {
    this.delivering = true;
    let failure: { error: unknown } | undefined;
    try {
      for (let i = 0; i < this.queue.length; i++) {
        try {
          this.listener(this.queue[i]);
        } catch (error) {
          failure ??= { error };
        }
      }
    } finally {
      this.queue = [];
      this.delivering = false;
    }
    if (failure !== undefined) throw failure.error;
  }
}
