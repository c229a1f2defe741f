import * as grpc from '@grpc/grpc-js';
import type { HealthImplementation } from 'grpc-health-check';
import type { Clock } from '../common/clock';
import type { Logger } from '../common/logger';
import { UnavailableError } from '../common/errors';
import { adminServiceDefinition, sessionServiceDefinition } from '../common/proto';
import type { LoopSlicer } from '../common/loop-slicer';
import type { CoordinatorMetrics } from '../common/metrics/coordinator-metrics';
import type { Election } from './election';
import type { SessionRegistry } from './session-registry';
import type { LeaderState } from './leader-state';
import type { LockTable } from './lock-table/lock-table';
import { LockRequests } from './lock-requests';
import { SessionStream } from './session-stream';
import { DEFAULT_STREAM_LIMITS, StreamLimits } from './stream-watchdog';
import type { Quotas } from './quotas';
import { adminHandlers } from './admin-service';
import { adminAuthorizer } from './transport-security';
import { instrumentRequests } from './instrumented-requests';

/** What the gRPC services need from the coordinator that serves them. */
export interface CoordinatorServicesDeps {
  server: grpc.Server;
  health: HealthImplementation;
  registry: SessionRegistry;
  election: Election;
  /** The leader state of the reign under way, if this coordinator leads. */
  leader(): LeaderState | undefined;
  isLeader(): boolean;
  clock: Clock;
  logger: Logger;
  coordinatorId: string;
  startedAtMs: number;
  /** HOST:PORT clients should use to reach this coordinator when it leads. */
  advertisedAddress: string;
  metrics: CoordinatorMetrics | undefined;
  quotas: Quotas;
  streamLimits: Partial<StreamLimits> | undefined;
  /** One per process: every stream's inbound messages share its slices. */
  slicer: LoopSlicer;
  tlsEnabled: boolean;
  /** Certificate common names allowed to call admin RPCs (TLS only); default ['admin']. */
  adminNames: string[] | undefined;
  /** Without TLS: the token admin callers must send (admin-token.ts). */
  adminToken: { file: string; token: string } | undefined;
}

/**
 * Adds the coordinator's gRPC services to its server: Session (one
 * SessionStream per Connect call), Admin and health. They are adapters:
 * the lock rules stay in the leader's lock table, which they reach only
 * while this coordinator still leads (NOT_LEADER, with the leader's
 * address when known, otherwise).
 */
export function addCoordinatorServices(d: CoordinatorServicesDeps): void {
  const leaderTable = (): LockTable => {
    const leader = d.leader();
    if (!leader || !d.election.stillLeading()) {
      const leaderAddress = d.election.knownLeader?.address ?? '';
      throw new UnavailableError('NOT_LEADER', `this coordinator is not the leader${leaderAddress ? `; the leader is ${leaderAddress}` : ''}`, { coordinatorId: d.coordinatorId, leaderAddress });
    }
    return leader.table;
  };
  const assertCanGrant = (): void => {
    leaderTable();
    d.leader()?.assertCanGrant(d.coordinatorId);
  };
  const assertCanServe = (): void => {
    leaderTable();
  };
  const lockRequests = new LockRequests({
    table: leaderTable,
    clock: d.clock,
    assertCanGrant,
    recovering: (sessionId) => d.leader()?.recovery.awaits(sessionId) ?? false,
  });
  const requests = d.metrics ? instrumentRequests(lockRequests, d.metrics) : lockRequests;
  const streamLimits = { ...DEFAULT_STREAM_LIMITS, ...d.streamLimits };
  d.server.addService(sessionServiceDefinition(), {
    Connect: (call: grpc.ServerDuplexStream<Record<string, unknown>, object>) =>
      new SessionStream(call, {
        registry: d.registry,
        requests,
        logger: d.logger.child({ component: 'stream' }),
        coordinatorId: d.coordinatorId,
        epoch: () => d.election.epoch,
        recovery: () => d.leader()?.recovery,
        assertCanServe,
        closeSession: async (session) => {
          d.leader()?.table.releaseSession(session.id);
          await d.registry.evict(session.id, 'SESSION_CLOSED').catch(() => undefined);
        },
        clock: d.clock,
        streamLimits,
        rate: d.quotas,
        // A flooding stream's messages wait for later slices (inbound-pacer.ts; docs/lock-table.md "Never stalling the loop").
        slicer: d.slicer,
      }),
  });
  d.server.addService(adminServiceDefinition(), adminHandlers({
    table: () => d.leader()?.table,
    requireLeader: () => { leaderTable(); },
    registry: d.registry,
    clock: d.clock,
    logger: d.logger.child({ component: 'admin' }),
    coordinatorId: d.coordinatorId,
    startedAtMs: d.startedAtMs,
    status: () => ({
      role: !d.isLeader() ? 'STANDBY' : d.leader()?.recovery.isOpen() ? 'RECOVERING' : 'LEADER',
      leaderAddress: d.isLeader() ? d.advertisedAddress : d.election.knownLeader?.address ?? '',
      epoch: d.election.epoch,
    }),
    authorizeAdmin: adminAuthorizer(d.tlsEnabled, d.adminNames ?? ['admin'], d.adminToken) as never,
  }) as unknown as grpc.UntypedServiceImplementation);
  d.health.addToServer(d.server);
}
