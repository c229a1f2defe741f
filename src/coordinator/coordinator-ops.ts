import type { EventEmitter } from 'node:events';
import type { DirectCounters } from './lock-table/direct-mode';
import type { Clock } from '../common/clock';
import type { CoordinatorMetrics } from '../common/metrics/coordinator-metrics';
import type { OpsEndpoint } from '../common/metrics/ops-server';
import type { LockTableStats } from './lock-table/types';
import type { Session } from './session';
import type { SessionEndReason, SessionRegistry } from './session-registry';

/** What the metrics and health endpoints read from a running coordinator. */
export interface CoordinatorView {
  clock: Clock;
  registry: SessionRegistry;
  isLeader(): boolean;
  recoveryOpen(): boolean;
  tableStats(): LockTableStats | undefined;
  directCounters?(): DirectCounters | undefined;
  epoch(): number;
  knownLeaderAddress(): string | undefined;
  stopped(): boolean;
}

/**
 * Metrics and /healthz, /readyz of a coordinator, observed from outside:
 * the registry's `ended` events and a timing wrapper of its heartbeat
 * (etcd keepalive latency). Lock-table events and requests are fed by the
 * coordinator (LeaderState's observer, instrumentRequests).
 */
export async function coordinatorOps(v: CoordinatorView): Promise<{ metrics: CoordinatorMetrics; ops: OpsEndpoint }> {
  // prom-client is loaded only by processes that serve metrics.
  const { CoordinatorMetrics } = await import('../common/metrics/coordinator-metrics');
  const role = () => (!v.isLeader() ? 'STANDBY' : v.recoveryOpen() ? 'RECOVERING' : 'LEADER') as 'LEADER' | 'STANDBY' | 'RECOVERING';
  const metrics = new CoordinatorMetrics(v.clock, {
    sessions: () => v.registry.size,
    tableStats: v.tableStats,
    directCounters: v.directCounters,
    role,
    epoch: v.epoch,
    recoveryOpen: v.recoveryOpen,
  });
  v.registry.on('ended', (_s: Session, reason: SessionEndReason) => metrics.onSessionEnded(reason));
  const heartbeat = v.registry.heartbeat.bind(v.registry);
  v.registry.heartbeat = async (session) => {
    const sentMs = v.clock.nowMs();
    const ttlMs = await heartbeat(session);
    metrics.keepaliveLatency.observe((v.clock.nowMs() - sentMs) / 1000);
    return ttlMs;
  };
  const ops: OpsEndpoint = {
    registry: metrics.registry,
    live: () => ({ ok: !v.stopped(), detail: v.stopped() ? 'stopping' : 'running' }),
    ready: () => {
      if (v.stopped()) return { ok: false, detail: 'stopping' };
      if (v.isLeader()) return { ok: true, detail: v.recoveryOpen() ? 'leader (recovering)' : 'leader' };
      const leader = v.knownLeaderAddress();
      return leader ? { ok: true, detail: `standby; leader is ${leader}` } : { ok: false, detail: 'standby without a known leader' };
    },
  };
  return { metrics, ops };
}

/** Observes how long a recovery window stays open. */
export function timeRecovery(metrics: CoordinatorMetrics | undefined, recovery: EventEmitter & { isOpen(): boolean }, clock: Clock): void {
  if (!metrics || !recovery.isOpen()) return;
  const openedMs = clock.nowMs();
  recovery.once('closed', () => metrics.recoveryDuration.observe((clock.nowMs() - openedMs) / 1000));
}
