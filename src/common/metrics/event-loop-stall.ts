import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, Registry } from 'prom-client';

/** Sampling interval of the stall monitors: a stall shorter than this is invisible, one longer is measured to about this. */
export const STALL_RESOLUTION_MS = 5;

/**
 * Two views of the longest event-loop stall since the previous scrape
 * (like prom-client's, the maxima restart at every scrape: one scraper).
 *
 * - coherd_event_loop_stall_max_seconds: how late a timer ran
 *   (perf_hooks.monitorEventLoopDelay; its samples include the sampling
 *   interval, which is subtracted, so an idle loop reads 0). This is what
 *   every client waited, whatever the cause.
 * - coherd_event_loop_busy_stall_max_seconds: the part of a late interval
 *   this process spent on the CPU (process.cpuUsage over the interval,
 *   capped at its length): its own work and garbage collection, without
 *   the time the machine gave other processes. On a busy machine the two
 *   differ; only the second is the coordinator's doing.
 *
 * prom-client's nodejs_eventloop_lag_max_seconds samples every 20 ms with
 * the interval in: too coarse to check a 20 ms bound (issue 15).
 */
export function registerEventLoopStall(registry: Registry): void {
  const histogram = monitorEventLoopDelay({ resolution: STALL_RESOLUTION_MS });
  histogram.enable();
  new Gauge({
    name: 'coherd_event_loop_stall_max_seconds',
    help: `Longest event-loop stall since the previous scrape (timer lateness beyond the ${STALL_RESOLUTION_MS} ms sampling interval)`,
    registers: [registry],
    collect() {
      const maxNs = histogram.count > 0 ? histogram.max : 0;
      this.set(Math.max(0, maxNs / 1e9 - STALL_RESOLUTION_MS / 1000));
      histogram.reset();
    },
  });
  let busyMaxMs = 0;
  let lastMs = performance.now();
  let lastCpu = process.cpuUsage();
  setInterval(() => {
    const nowMs = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    const wallMs = nowMs - lastMs;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    busyMaxMs = Math.max(busyMaxMs, Math.min(wallMs, cpuMs) - STALL_RESOLUTION_MS);
    lastMs = nowMs;
    lastCpu = process.cpuUsage();
  }, STALL_RESOLUTION_MS).unref();
  new Gauge({
    name: 'coherd_event_loop_busy_stall_max_seconds',
    help: 'Longest event-loop stall since the previous scrape spent on the CPU by this process (its own work and GC, not other processes)',
    registers: [registry],
    collect() {
      this.set(Math.max(0, busyMaxMs) / 1000);
      busyMaxMs = 0;
    },
  });
}
