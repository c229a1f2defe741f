import { Fault, FaultContext, sleep } from './fault';

export interface ScheduleOptions {
  faults: readonly Fault[];
  /** Stop starting faults after this run time (ms). */
  untilMs: number;
  maxFaults: number;
  /** Quiet time between two faults, ms. */
  gapMs: [number, number];
}

/**
 * Runs faults one after another until untilMs or maxFaults: a seeded gap,
 * a seeded kind, the fault's own seeded choices. The same seed gives the
 * same sequence of kinds, targets and durations. stop() lets the current
 * fault undo itself and returns.
 */
export class FaultSchedule {
  private stopped = false;
  injected = 0;

  constructor(private readonly o: ScheduleOptions) {}

  async run(ctx: FaultContext): Promise<void> {
    if (this.o.faults.length === 0) return;
    while (!this.stopped && this.injected < this.o.maxFaults) {
      const gap = ctx.rnd.int(this.o.gapMs[0], this.o.gapMs[1]);
      const fault = ctx.rnd.pick(this.o.faults);
      if (ctx.rec.now() + gap >= this.o.untilMs) return;
      await this.sleepUnlessStopped(gap);
      if (this.stopped) return;
      ctx.logger.info('fault', { fault: fault.name, n: this.injected + 1 });
      try {
        await fault.inject(ctx);
      } catch (e) {
        ctx.logger.warn('fault failed', { fault: fault.name, error: (e as Error).message });
      }
      this.injected++;
    }
  }

  stop(): void {
    this.stopped = true;
  }

  private async sleepUnlessStopped(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (!this.stopped && Date.now() < end) await sleep(Math.min(200, end - Date.now()));
  }
}
