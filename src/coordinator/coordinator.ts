import * as grpc from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { HealthImplementation } from 'grpc-health-check';
import { Clock, SystemClock } from '../common/clock';
import { Logger } from '../common/logger';
import { MAX_MESSAGE_BYTES } from '../common/proto';
import { EtcdKeys } from './etcd-keys';
import { LeaseKeeper } from './lease-keeper';
import { Election } from './election';
import { SessionRegistry, SessionEndReason } from './session-registry';
import { Session } from './session';
import { LeaderState } from './leader-state';
import { Leadership } from './leadership';
import { addCoordinatorServices } from './coordinator-services';
import { StreamLimits } from './stream-watchdog';
import { checkQuotas, Quotas } from './quotas';
import { serverCredentials, splitHostPort, TlsFiles } from './transport-security';
import { connectEtcd, EtcdConnectionOptions } from './etcd-connection';
import { ReloadableCertificates } from '../common/reloadable-certificates';
import type { CoordinatorMetrics } from '../common/metrics/coordinator-metrics';
import { coordinatorOps } from './coordinator-ops';
import { OpsEndpoint } from '../common/metrics/ops-server';
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
  private leadership: Leadership | undefined;
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

  /** The leader state of the reign under way, if this coordinator leads. */
  private get leader(): LeaderState | undefined {
    return this.leadership?.current;
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
    const leadership = new Leadership({
      election: this.election, registry: this.registry, health: this.health, clock: this.clock, logger: this.logger,
      metrics: () => this.metrics,
      revokeDeadlineMs: this.o.revokeDeadlineMs ?? 5000,
      maxWaitersPerResource: this.quotas.maxWaitersPerResource,
      directAloneMs: this.o.directAloneMs,
      slicer: this.slicer,
      stopped: () => this.stopped,
    });
    this.leadership = leadership;
    this.election.on('lost', () => leadership.stepDown());
    if (this.o.metrics) await this.enableMetrics();
    addCoordinatorServices({
      server: this.server, health: this.health, registry: this.registry, election: this.election,
      leader: () => this.leader,
      isLeader: () => this.isLeader(),
      clock: this.clock, logger: this.logger, coordinatorId: this.coordinatorId, startedAtMs: this.startedAtMs,
      advertisedAddress: this.o.advertise ?? this.address,
      metrics: this.metrics, quotas: this.quotas, streamLimits: this.o.streamLimits, slicer: this.slicer,
      tlsEnabled: Boolean(this.o.tls), adminNames: this.o.adminNames, adminToken: this.adminToken,
    });
    this.health.setStatus('', 'SERVING');
    this.logger.info('coordinator listening', { address: this.address, coordinatorId: this.coordinatorId });
    const first = leadership.leadLoop();
    // Resolve start() once leader or once another coordinator is known to lead (standby).
    while (!this.stopped && !this.leader && !this.election.knownLeader) {
      await Promise.race([first, new Promise((r) => setTimeout(r, 100))]);
    }
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
