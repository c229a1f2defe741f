import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gauge, Registry } from 'prom-client';

/** Sampling interval of the stall monitor: a stall shorter than this is invisible, one longer is measured to about this. */
export const STALL_RESOLUTION_MS = 5;

/**
 * coherd_event_loop_stall_max_seconds: the longest time the event loop
 * could not run a timer, since the previous scrape (perf_hooks
 * .monitorEventLoopDelay, whose samples include the sampling interval
 * itself; that interval is subtracted here, so an idle loop reads 0).
 * prom-client's nodejs_eventloop_lag_max_seconds samples every 20 ms and
 * keeps the interval in, too coarse to check a 20 ms bound (issue 15).
 * Like prom-client's, the maximum restarts at every scrape: one scraper.
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
}
