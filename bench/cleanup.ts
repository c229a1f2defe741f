/**
 * Teardown that must run whatever happens: etcd, mounts, child processes,
 * temp dirs. Steps run last-in first-out. Each step may also give a
 * synchronous fallback that runs from process 'exit' if the async step
 * never got the chance (e.g. an uncaught exception).
 */
export interface CleanupStep {
  name: string;
  run: () => Promise<void>;
  /** Best effort, synchronous; only used if run() did not happen. */
  runSync?: () => void;
}

export class Cleanup {
  private steps: CleanupStep[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly onError: (name: string, error: unknown) => void = () => {}) {}

  /** Registers a step; the returned function runs it now (once) and deregisters it. */
  add(step: CleanupStep): () => Promise<void> {
    this.steps.push(step);
    let done: Promise<void> | undefined;
    return () => {
      done ??= this.runStep(step);
      return done;
    };
  }

  get pending(): number {
    return this.steps.length;
  }

  /** Runs every remaining step, LIFO, never throwing; concurrent calls share one pass. */
  runAll(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) await this.runStep(this.steps[this.steps.length - 1]);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** For process 'exit': synchronous fallbacks of steps that never ran. */
  runAllSync(): void {
    for (const step of this.steps.reverse()) {
      try {
        step.runSync?.();
      } catch (e) {
        this.onError(step.name, e);
      }
    }
    this.steps = [];
  }

  private async runStep(step: CleanupStep): Promise<void> {
    const i = this.steps.indexOf(step);
    if (i < 0) return;
    this.steps.splice(i, 1);
    try {
      await step.run();
    } catch (e) {
      this.onError(step.name, e);
    }
  }
}
