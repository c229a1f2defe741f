import type { Registry } from 'prom-client';

/** Collection time after which metricsText lets the event loop turn before the next metric. */
export const METRICS_TURN_BUDGET_MS = 0.5;

/**
 * The Prometheus text of a registry, as registry.metrics() gives it, but
 * collected one metric at a time, letting the event loop turn (setImmediate)
 * whenever collecting has taken turnBudgetMs since the last turn. prom-client
 * collects and formats every metric in one go — about 1–1.5 ms for the
 * coordinator's, more on a busy machine — and a scrape every few seconds
 * should not hold a lock request of a client for that long (issue 15).
 */
export async function metricsText(registry: Registry, turnBudgetMs = METRICS_TURN_BUDGET_MS): Promise<string> {
  const parts: string[] = [];
  let turnStartMs = performance.now();
  for (const metric of registry.getMetricsAsArray()) {
    if (performance.now() - turnStartMs >= turnBudgetMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      turnStartMs = performance.now();
    }
    parts.push(await registry.getSingleMetricAsString(metric.name));
  }
  return `${parts.join('\n\n')}\n`;
}
