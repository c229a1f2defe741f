import { collectDefaultMetrics, Registry } from 'prom-client';
import { registerEventLoopStall } from './event-loop-stall';

/**
 * A registry with the standard process and Node.js metrics (CPU, memory,
 * GC, and the event-loop delay that prom-client samples with
 * perf_hooks.monitorEventLoopDelay: nodejs_eventloop_lag_*_seconds), and
 * coherd_event_loop_stall_max_seconds (event-loop-stall.ts).
 */
export function processRegistry(component: 'coordinator' | 'agent' | 'replica'): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  registerEventLoopStall(registry);
  return registry;
}
