import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Clock } from '../clock';
import { isCoherdError } from '../errors';
import { modeFromWire, spaceFromWire } from '../wire';
import type { LockTableEvent, LockTableStats } from '../../coordinator/lock-table/types';
import type { DirectCounters } from '../../coordinator/lock-table/direct-mode';
import { BoundedMap } from './bounded-map';
import { processRegistry } from './process-metrics';

/** What the gauges read at scrape time. */
export interface CoordinatorState {
  sessions(): number;
  /** undefined on a standby (no lock table). */
  tableStats(): LockTableStats | undefined;
  /** Direct mode (docs/direct-mode.md); undefined on a standby. */
  directCounters?(): DirectCounters | undefined;
  role(): 'LEADER' | 'STANDBY' | 'RECOVERING';
  epoch(): number;
  recoveryOpen(): boolean;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const ROLES = ['LEADER', 'STANDBY', 'RECOVERING'] as const;

/**
 * The coordinator's Prometheus metrics. Labels are bounded: lock space
 * (data, attr, dir, range), mode (READ, WRITE, SHARED, EXCLUSIVE), error
 * reason (the fixed ErrorReason list), role; never a resource or a session.
 */
export class CoordinatorMetrics {
  readonly registry: Registry;
  readonly grants: Counter<'space' | 'mode'>;
  readonly conversions: Counter<'space' | 'mode'>;
  readonly revokes: Counter<'space'>;
  readonly revokeResends: Counter<'space'>;
  readonly revokesOverdue: Counter;
  readonly evictions: Counter;
  readonly sessionsEnded: Counter<'reason'>;
  readonly refused: Counter<'space' | 'mode' | 'reason'>;
  readonly grantLatency: Histogram<'space'>;
  readonly revokeRoundTrip: Histogram<'space'>;
  readonly keepaliveLatency: Histogram;
  readonly recoveryDuration: Histogram;
  /** Queued requests by table request id: when and what, for grant latency and refusals. */
  private readonly waiting = new BoundedMap<string, { space: string; mode: string; atMs: number; conversion: boolean }>(200_000);
  /** Outstanding revokes by lock id: when the first was sent. */
  private readonly revoking = new BoundedMap<number, { space: string; atMs: number }>(200_000);

  constructor(private readonly clock: Clock, state: CoordinatorState, registry = processRegistry('coordinator')) {
    this.registry = registry;
    const r = [registry];
    this.grants = new Counter({ name: 'coherd_grants_total', help: 'Tokens and range locks granted (at once or after waiting)', labelNames: ['space', 'mode'], registers: r });
    this.conversions = new Counter({ name: 'coherd_conversions_total', help: 'Held tokens/locks converted (upgrade, downgrade, shrink, revoke answers that keep part)', labelNames: ['space', 'mode'], registers: r });
    this.revokes = new Counter({ name: 'coherd_revokes_total', help: 'Revokes sent to holders (first attempts)', labelNames: ['space'], registers: r });
    this.revokeResends = new Counter({ name: 'coherd_revoke_resends_total', help: 'Revokes sent again after no answer', labelNames: ['space'], registers: r });
    this.revokesOverdue = new Counter({ name: 'coherd_revokes_overdue_total', help: 'Holders that did not answer a revoke by the deadline (then evicted)', registers: r });
    this.evictions = new Counter({ name: 'coherd_evictions_total', help: 'Sessions evicted (overdue revoke, admin, full outbox)', registers: r });
    this.sessionsEnded = new Counter({ name: 'coherd_sessions_ended_total', help: 'Sessions ended, by reason', labelNames: ['reason'], registers: r });
    this.refused = new Counter({ name: 'coherd_refused_requests_total', help: 'Acquire/convert requests refused or failed (conflict, timeout, deadlock, not leader, recovering…)', labelNames: ['space', 'mode', 'reason'], registers: r });
    this.grantLatency = new Histogram({ name: 'coherd_grant_latency_seconds', help: 'From acquire to grant, including time queued', labelNames: ['space'], buckets: LATENCY_BUCKETS, registers: r });
    this.revokeRoundTrip = new Histogram({ name: 'coherd_revoke_round_trip_seconds', help: 'From the first revoke to the holder giving the token back', labelNames: ['space'], buckets: LATENCY_BUCKETS, registers: r });
    this.keepaliveLatency = new Histogram({ name: 'coherd_etcd_keepalive_latency_seconds', help: 'Heartbeat to etcd-confirmed lease keepalive', buckets: LATENCY_BUCKETS, registers: r });
    this.recoveryDuration = new Histogram({ name: 'coherd_recovery_window_duration_seconds', help: 'How long recovery windows stayed open after a failover', buckets: [0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120], registers: r });
    gauge(r, 'coherd_sessions', 'Live sessions known to this coordinator', () => state.sessions());
    gauge(r, 'coherd_held_grants', 'Tokens and range locks granted now (leader only)', () => state.tableStats()?.grants ?? 0);
    gauge(r, 'coherd_waiters', 'Requests queued behind conflicting grants (leader only)', () => state.tableStats()?.waiters ?? 0);
    gauge(r, 'coherd_active_resources', '(resource, space) pairs with a grant or a waiter', () => state.tableStats()?.resources ?? 0);
    gauge(r, 'coherd_direct_resources', 'Resources whose data and attr tokens are in direct mode (uncached, no token traffic per operation)', () => state.directCounters?.()?.active ?? 0);
    const direct = (name: string, help: string, read: (c: DirectCounters) => number) => new Counter({
      name, help, registers: r, collect() { const c = state.directCounters?.(); if (c) { this.reset(); this.inc(read(c)); } },
    });
    direct('coherd_direct_mode_entered_total', 'Times a resource entered direct mode because its tokens ping-ponged between hosts (this leader)', (c) => c.entered);
    direct('coherd_direct_mode_left_total', 'Times a resource left direct mode because one host was alone with it (this leader)', (c) => c.left);
    gauge(r, 'coherd_recovery_window_open', '1 while the new leader waits for reclaims', () => (state.recoveryOpen() ? 1 : 0));
    gauge(r, 'coherd_leader_epoch', 'Epoch of this coordinator\'s leadership (etcd revision of its election win); 0 on a standby', () => state.epoch());
    gauge(r, 'coherd_is_leader', '1 on the leader (also while recovering), 0 on standbys', () => (state.role() === 'STANDBY' ? 0 : 1));
    new Gauge({
      name: 'coherd_role', help: 'Role of this coordinator (1 for the current one)', labelNames: ['role'], registers: r,
      collect() { const now = state.role(); for (const role of ROLES) this.set({ role }, role === now ? 1 : 0); },
    });
  }

  /** Lock-table events: later grants, failures of queued requests, revokes. */
  onTableEvent(e: LockTableEvent): void {
    const now = this.clock.nowMs();
    switch (e.kind) {
      case 'granted': {
        const w = this.waiting.take(e.grant.requestId);
        if (w?.conversion) return void this.conversions.inc({ space: e.grant.space, mode: e.grant.mode });
        this.grants.inc({ space: e.grant.space, mode: e.grant.mode });
        this.grantLatency.observe({ space: e.grant.space }, w ? (now - w.atMs) / 1000 : 0);
        return;
      }
      case 'failed': {
        const w = this.waiting.take(e.requestId);
        this.refused.inc({ space: w?.space ?? 'unknown', mode: w?.mode ?? 'unknown', reason: e.reason });
        return;
      }
      case 'revoke':
        if (e.attempt <= 1 && !this.revoking.has(e.lockId)) {
          this.revokes.inc({ space: e.space });
          this.revoking.set(e.lockId, { space: e.space, atMs: now });
        } else {
          this.revokeResends.inc({ space: e.space });
        }
        return;
      case 'revokeOverdue':
        this.revokesOverdue.inc();
        this.revoking.take(e.lockId);
        return;
    }
  }

  /** A held lock was given back in full or in part (release, revoke answer): ends its revoke round trip. */
  onGivenBack(lockId: number): void {
    const r = this.revoking.take(lockId);
    if (r) this.revokeRoundTrip.observe({ space: r.space }, (this.clock.nowMs() - r.atMs) / 1000);
  }

  /** The immediate outcome of an acquire or convert request (wire body in, reply or error out). */
  onRequest(kind: 'acquire' | 'convert', tableRequestId: string, body: Record<string, unknown>, space: string | undefined, outcome: { reply?: object; error?: unknown }): void {
    const mode = safe(() => modeFromWire(body.mode)) ?? 'unknown';
    const sp = space ?? safe(() => spaceFromWire(body.space)) ?? 'unknown';
    if (outcome.error !== undefined) {
      const reason = isCoherdError(outcome.error) ? outcome.error.reason : 'INTERNAL';
      this.refused.inc({ space: sp, mode, reason });
      return;
    }
    const reply = outcome.reply as Record<string, unknown>;
    if (reply.queued) this.waiting.set(tableRequestId, { space: sp, mode, atMs: this.clock.nowMs(), conversion: kind === 'convert' });
    else if (kind === 'acquire' && reply.granted) {
      this.grants.inc({ space: sp, mode });
      this.grantLatency.observe({ space: sp }, 0);
    } else if (reply.converted) this.conversions.inc({ space: sp, mode });
  }

  onSessionEnded(reason: string): void {
    this.sessionsEnded.inc({ reason });
    if (reason === 'SESSION_EVICTED') this.evictions.inc();
  }
}

function gauge(registers: Registry[], name: string, help: string, read: () => number): void {
  new Gauge({ name, help, registers, collect() { this.set(read()); } });
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
