import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { HealthImplementation } from 'grpc-health-check';
import { Clock, SystemClock } from '../common/clock';
import { Logger } from '../common/logger';
import { UnavailableError } from '../common/errors';
import { adminServiceDefinition, sessionServiceDefinition, MAX_MESSAGE_BYTES } from '../common/proto';
import { EtcdKeys } from './etcd-keys';
import { LeaseKeeper } from './lease-keeper';
import { Election } from './election';
import { SessionRegistry, SessionEndReason, MAX_TTL_MS } from './session-registry';
import { Session } from './session';
import { LeaderState } from './leader-state';
import { loadTakeover } from './leader-takeover';
import { LockTable } from './lock-table/lock-table';
import { LockRequests } from './lock-requests';
import { SessionStream } from './session-stream';
import { DEFAULT_STREAM_LIMITS, StreamLimits } from './stream-watchdog';
import { checkQuotas, Quotas } from './quotas';
import { adminHandlers } from './admin-service';
import { adminAuthorizer, serverCredentials, splitHostPort, TlsFiles } from './transport-security';
import { connectEtcd, EtcdConnectionOptions } from './etcd-connection';
import { ReloadableCertificates } from '../common/reloadable-certificates';
import type { CoordinatorMetrics } from '../common/metrics/coordinator-metrics';
import { coordinatorOps, timeRecovery } from './coordinator-ops';
import { OpsEndpoint } from '../common/metrics/ops-server';
import { instrumentRequests } from './instrumented-requests';
import { LoopSlicer } from '../common/loop-slicer';
import { limitReceiveWindow } from './receive-window';
import { ensureAdminToken } from '../common/admin-token';

export interface CoordinatorOptions extends EtcdConnectionOptions {
  /** HOST:PORT to listen on; port 0 picks a free one. */
  listen: string;
  logger: Logger;
  clock?: Clock;
  coordinatorId?: string;
  /** Key prefix in etcd; default "/coherd/". */
  prefix?: string;
  /** Default session lease TTL; default 10000 ms. */
  sessionTtlMs?: number;
  /** Leadership lease TTL; default 5000 ms. */
  leaderTtlMs?: number;
  /** A holder that has not answered a revoke by then is evicted (if someone waits); default 5000 ms. */
  revokeDeadlineMs?: number;
  tls?: TlsFiles;
  allowInsecure?: boolean;
  /** Certificate common names allowed to call admin RPCs (TLS only). */
  adminNames?: string[];
  /** Without TLS, admin RPCs need the token in this file (created 0600 if absent); default admin-token.ts's defaults. */
  adminTokenFile?: string;
  /** Keep Prometheus metrics (exposed as `ops`); default false. */
  metrics?: boolean;
  /** HOST:PORT clients should use to reach this coordinator (published when it leads); default the bound address. */
  advertise?: string;
  /** Idle and half-close bounds of Connect streams (docs/lock-table.md "Quotas"); defaults DEFAULT_STREAM_LIMITS. */
  streamLimits?: Partial<StreamLimits>;
  /** Per-client quotas (docs/lock-table.md "Quotas"); defaults DEFAULT_QUOTAS. */
  quotas?: Partial<Quotas>;
  /** A contended file leaves direct mode after this long with one host; 0 turns direct mode off (docs/direct-mode.md). Default 2000. */
  directAloneMs?: number;
}

export interface RunningCoordinator {
  /** HOST:PORT actually bound. */
  address: string;
  coordinatorId: string;
  isLeader(): boolean;
  epoch(): number;
  /** Reads the TLS files again (SIGHUP); new connections use them, open ones keep theirs. Throws and keeps the old ones if unusable. */
  reloadCertificates(): void;
  /** Metrics and health for --metrics-listen; undefined unless options.metrics. */
  readonly ops: OpsEndpoint | undefined;
  stop(): Promise<void>;
}

/** Starts a coordinator: connects to etcd, serves gRPC, campaigns for leadership. */
export async function startCoordinator(o: CoordinatorOptions): Promise<RunningCoordinator> {
  const c = new Coordinator(o);
  await c.start();
  return c;
}

class Coordinator implements RunningCoordinator {
  readonly coordinatorId: string;
  address = '';
  private readonly clock: Clock;
  private readonly logger: Logger;
  private etcd!: Etcd3;
  private keeper!: LeaseKeeper;
  private election!: Election;
  private registry!: SessionRegistry;
  private leader: LeaderState | undefined;
  /** The takeover under way or last finished: takeovers run one at a time (becomeLeader). */
  private takeover: Promise<void> = Promise.resolve();
  /** Test-only ($COHERD_TEST_TAKEOVER_DELAY_MS): the first takeover waits this long after loading the sessions. */
  private takeoverDelayMs = Number(process.env.COHERD_TEST_TAKEOVER_DELAY_MS ?? 0) || 0;
  private readonly server: grpc.Server;
  private readonly health = new HealthImplementation({ '': 'NOT_SERVING', 'coherd.v1.Session': 'NOT_SERVING' });
  private readonly startedAtMs: number;
  private stopped = false;
  private certificates: ReloadableCertificates | undefined;
  private metrics: CoordinatorMetrics | undefined;
  ops: OpsEndpoint | undefined;

  private readonly quotas: Quotas;
  /** One per process: table timers, session freeing and every stream's inbound messages share its slices. */
  private readonly slicer: LoopSlicer;
  /** Without TLS: the token admin callers must send (admin-token.ts). */
  private adminToken: { file: string; token: string } | undefined;

  constructor(private readonly o: CoordinatorOptions) {
    this.quotas = checkQuotas(o.quotas);
    this.clock = o.clock ?? new SystemClock();
    this.logger = o.logger.child({ component: 'coordinator' });
    this.coordinatorId = o.coordinatorId ?? randomBytes(4).toString('hex');
    this.startedAtMs = this.clock.nowMs();
    this.slicer = new LoopSlicer({ onError: (e) => this.logger.error('paced work failed', { error: (e as Error)?.stack }) });
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.http2.min_ping_interval_without_data_ms': 1_000,
    });
    limitReceiveWindow(this.server, this.logger);
  }

  isLeader(): boolean {
    return this.leader !== undefined && this.election.isLeader();
  }

  epoch(): number {
    return this.election.epoch;
  }

  private async enableMetrics(): Promise<void> {
    const { metrics, ops } = await coordinatorOps({
      clock: this.clock,
      registry: this.registry,
      isLeader: () => this.isLeader(),
      recoveryOpen: () => this.leader?.recovery.isOpen() ?? false,
      tableStats: () => this.leader?.table.stats(),
      directCounters: () => this.leader?.table.directCounters(),
      epoch: () => this.election?.epoch ?? 0,
      knownLeaderAddress: () => this.election?.knownLeader?.address,
      stopped: () => this.stopped,
    });
    this.metrics = metrics;
    this.ops = ops;
  }

  reloadCertificates(): void {
    if (!this.certificates) return;
    const loaded = this.certificates.reload();
    this.logger.info('TLS certificates reloaded', { subject: loaded.subject, notAfter: new Date(loaded.notAfterMs).toISOString() });
  }

  async start(): Promise<void> {
    const { host, port } = splitHostPort(this.o.listen);
    this.certificates = this.o.tls ? new ReloadableCertificates(this.o.tls) : undefined;
    const creds = serverCredentials(host.replace(/^\[|\]$/g, ''), this.certificates, this.o.allowInsecure);
    if (!this.o.tls) {
      this.adminToken = ensureAdminToken(this.o.adminTokenFile);
      this.logger.info('admin RPCs need the admin token', { file: this.adminToken.file });
    }
    this.etcd = await connectEtcd(this.o, this.logger);
    const keys = new EtcdKeys(this.o.prefix);
    this.keeper = new LeaseKeeper(this.etcd, this.clock, this.logger);
    const bound = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${host}:${port}`, creds, (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.address = `${host}:${bound}`;
    this.election = new Election({
      etcd: this.etcd, keys, keeper: this.keeper, clock: this.clock, logger: this.logger.child({ component: 'election' }),
      coordinatorId: this.coordinatorId, address: this.o.advertise ?? this.address, ttlMs: this.o.leaderTtlMs,
    });
    this.registry = new SessionRegistry({
      etcd: this.etcd, keys, keeper: this.keeper, election: this.election,
      clock: this.clock, logger: this.logger.child({ component: 'sessions' }), defaultTtlMs: this.o.sessionTtlMs,
      maxSessionsPerClient: this.quotas.maxSessionsPerClient,
    });
    this.registry.on('ended', (session: Session, reason: SessionEndReason) => {
      session.detachStream?.(reason, reason === 'SESSION_EVICTED' ? 'session evicted' : 'session lease expired');
      const leader = this.leader;
      leader?.freeGrantsOf(session, reason, () => this.leader === leader);
    });
    this.election.on('lost', () => this.stepDown());
    if (this.o.metrics) await this.enableMetrics();
    this.addServices();
    this.health.setStatus('', 'SERVING');
    this.logger.info('coordinator listening', { address: this.address, coordinatorId: this.coordinatorId });
    const first = this.leadLoop();
    // Resolve start() once leader or once another coordinator is known to lead (standby).
    while (!this.stopped && !this.leader && !this.election.knownLeader) {
      await Promise.race([first, new Promise((r) => setTimeout(r, 100))]);
    }
  }

  /** Campaigns, leads until leadership is lost, and campaigns again. */
  private async leadLoop(): Promise<void> {
    await this.election.campaign();
    if (this.stopped) return;
    await this.becomeLeader();
  }

  private becomeLeader(): Promise<void> {
    this.takeover = this.takeover.then(() => this.takeOver()).catch((e: Error) => { this.logger.error('taking over failed', { error: e.message }); });
    return this.takeover;
  }

  /** Installs the leader state of the reign just won (leader-takeover.ts), unless that reign ended first. */
  private async takeOver(): Promise<void> {
    if (this.leader || this.stopped) return;
    const delayMs = this.takeoverDelayMs;
    this.takeoverDelayMs = 0;
    const taken = await loadTakeover(this.election.epoch, {
      registry: this.registry,
      reignLasts: (epoch) => !this.stopped && this.election.isLeader() && this.election.epoch === epoch,
      clock: this.clock,
      logger: this.logger,
      delayMs,
    });
    if (!taken) return;
    const { epoch, restored, evictedWaitMs } = taken;
    this.leader = new LeaderState({
      clock: this.clock,
      logger: this.logger,
      sessions: this.registry,
      epoch,
      revokeDeadlineMs: this.o.revokeDeadlineMs ?? 5000,
      restoredSessionIds: restored,
      maxRecoveryMs: MAX_TTL_MS,
      evictedWaitMs,
      maxWaitersPerResource: this.quotas.maxWaitersPerResource,
      directAloneMs: this.o.directAloneMs,
      slicer: this.slicer,
      mayAct: () => this.election.stillLeading(),
      observe: this.metrics && ((e) => this.metrics?.onTableEvent(e)),
    });
    timeRecovery(this.metrics, this.leader.recovery, this.clock);
    this.health.setStatus('coherd.v1.Session', 'SERVING');
  }

  /**
   * Leadership lost (deadline passed or etcd said so): grant nothing more,
   * drop the soft state and end every stream with UNAVAILABLE so clients
   * go find the leader; sessions stay in etcd for it. Then campaign again.
   */
  private stepDown(): void {
    this.health.setStatus('coherd.v1.Session', 'NOT_SERVING');
    this.leader?.close('leadership lost');
    this.leader = undefined;
    for (const s of this.registry.forgetAll()) s.detachStream?.('NOT_LEADER', 'this coordinator lost its leadership');
    void this.registry.close();
    if (this.stopped) return;
    this.logger.error('stepped down: leadership lost; no more grants from this coordinator');
    void this.leadLoop();
  }

  private assertCanGrant = (): void => {
    this.leaderTable();
    this.leader?.assertCanGrant(this.coordinatorId);
  };

  private assertCanServe = (): void => {
    this.leaderTable();
  };

  private leaderTable = (): LockTable => {
    if (!this.leader || !this.election.stillLeading()) {
      const leaderAddress = this.election.knownLeader?.address ?? '';
      throw new UnavailableError('NOT_LEADER', `this coordinator is not the leader${leaderAddress ? `; the leader is ${leaderAddress}` : ''}`, { coordinatorId: this.coordinatorId, leaderAddress });
    }
    return this.leader.table;
  };

  private addServices(): void {
    const lockRequests = new LockRequests({
      table: this.leaderTable,
      clock: this.clock,
      assertCanGrant: this.assertCanGrant,
      recovering: (sessionId) => this.leader?.recovery.awaits(sessionId) ?? false,
    });
    const requests = this.metrics ? instrumentRequests(lockRequests, this.metrics) : lockRequests;
    const streamLimits = { ...DEFAULT_STREAM_LIMITS, ...this.o.streamLimits };
    this.server.addService(sessionServiceDefinition(), {
      Connect: (call: grpc.ServerDuplexStream<Record<string, unknown>, object>) =>
        new SessionStream(call, {
          registry: this.registry,
          requests,
          logger: this.logger.child({ component: 'stream' }),
          coordinatorId: this.coordinatorId,
          epoch: () => this.election.epoch,
          recovery: () => this.leader?.recovery,
          assertCanServe: this.assertCanServe,
          closeSession: async (session) => {
            this.leader?.table.releaseSession(session.id);
            await this.registry.evict(session.id, 'SESSION_CLOSED').catch(() => undefined);
          },
          clock: this.clock,
          streamLimits,
          rate: this.quotas,
          // A flooding stream's messages wait for later slices (inbound-pacer.ts; docs/lock-table.md "Never stalling the loop").
          slicer: this.slicer,
        }),
    });
    this.server.addService(adminServiceDefinition(), adminHandlers({
      table: () => this.leader?.table,
      requireLeader: () => { this.leaderTable(); },
      registry: this.registry,
      clock: this.clock,
      logger: this.logger.child({ component: 'admin' }),
      coordinatorId: this.coordinatorId,
      startedAtMs: this.startedAtMs,
      status: () => ({
        role: !this.isLeader() ? 'STANDBY' : this.leader?.recovery.isOpen() ? 'RECOVERING' : 'LEADER',
        leaderAddress: this.isLeader() ? this.o.advertise ?? this.address : this.election.knownLeader?.address ?? '',
        epoch: this.election.epoch,
      }),
      authorizeAdmin: adminAuthorizer(Boolean(this.o.tls), this.o.adminNames ?? ['admin'], this.adminToken) as never,
    }) as unknown as grpc.UntypedServiceImplementation);
    this.health.addToServer(this.server);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.health.setStatus('', 'NOT_SERVING');
    this.leader?.close('coordinator stopping');
    await new Promise<void>((r) => {
      const t = setTimeout(() => { this.server.forceShutdown(); r(); }, 2000);
      this.server.tryShutdown(() => { clearTimeout(t); r(); });
    });
    await this.registry?.close();
    await this.election?.resign();
    this.keeper?.close();
    this.etcd?.close();
    this.logger.info('coordinator stopped', { coordinatorId: this.coordinatorId });
  }
}
