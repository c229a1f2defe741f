import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A registry with the standard process and Node.js metrics (CPU, memory,
 * GC, and the event-loop delay that prom-client samples with
 * perf_hooks.monitorEventLoopDelay: nodejs_eventloop_lag_*_seconds).
 */
export function processRegistry(component: 'coordinator' | 'agent' | 'replica'): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return registry;
}
