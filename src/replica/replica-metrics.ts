import { Gauge, Histogram, Registry } from 'prom-client';
import { Clock } from '../common/clock';
import { OpsEndpoint } from '../common/metrics/ops-server';
import { processRegistry } from '../common/metrics/process-metrics';
import { ReplicaFollower } from './replica-follower';
import { agentStatus, AgentStatus } from './replica-status';

const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** /healthz fails when no round finished for this long (a wedged read or fsync). */
const WEDGED_MS = 30_000;
/** /readyz fails when the coordinator has not answered discovery for this long. */
const COORDINATOR_STALE_MS = 10_000;

/**
 * The replica's Prometheus metrics (docs/replication.md, "Metrics"): per
 * followed agent, the same cursor, lags and last token as `coherd replica
 * status`, computed at scrape time from the journals. The only label is
 * `agent`, the journal's agent id: one per followed journal directory,
 * which is one per host and namespace (the id survives agent restarts).
 */
export class ReplicaMetrics implements OpsEndpoint {
  readonly registry: Registry;
  readonly applyLag: Histogram;
  private snapshot: Promise<AgentStatus[]> | undefined;

  constructor(private readonly follower: ReplicaFollower, private readonly clock: Clock, registry = processRegistry('replica')) {
    this.registry = registry;
    const r = [registry];
    this.applyLag = new Histogram({ name: 'coherd_replica_apply_lag_seconds', help: 'Op completed on an agent → durable on the mirror, per applied record', buckets: LAG_BUCKETS, registers: r });
    follower.addDurableListener((_agent, lagMs) => this.applyLag.observe(lagMs / 1000));
    const perAgent = (name: string, help: string, value: (a: AgentStatus) => number | undefined) => {
      const statuses = () => this.agents();
      new Gauge({
        name, help, labelNames: ['agent'], registers: r,
        async collect() {
          this.reset();
          for (const a of await statuses()) {
            const v = value(a);
            if (v !== undefined) this.set({ agent: a.agentId }, v);
          }
        },
      });
    };
    perAgent('coherd_replica_cursor_sequence', 'Last journal sequence applied and durable on the mirror', (a) => a.cursor);
    perAgent('coherd_replica_lag_records', 'Records in the agent\'s journal after the cursor', (a) => a.lagRecords);
    perAgent('coherd_replica_lag_bytes', 'Bytes of those records (headers and write data)', (a) => a.lagBytes);
    perAgent('coherd_replica_lag_seconds', 'Age of the oldest record not applied yet (0 when caught up)', (a) => a.lagSeconds);
    perAgent('coherd_replica_last_token_epoch', 'Epoch of the fencing token of the last applied record', (a) => a.lastToken?.epoch);
    perAgent('coherd_replica_last_token_counter', 'Counter of the fencing token of the last applied record', (a) => a.lastToken?.counter);
    perAgent('coherd_replica_stream_stopped', '1 when the agent\'s stream was stopped at a bad record (see `coherd replica status`)', (a) => (a.stopped ? 1 : 0));
    const f = follower;
    new Gauge({ name: 'coherd_replica_rescans', help: 'Full rescans of the backing store since the replica state was made', registers: r, collect() { this.set(f.state.data.rescans); } });
    new Gauge({ name: 'coherd_replica_rounds', help: 'Read-apply-ack rounds completed since the process started', registers: r, collect() { this.set(f.roundsDone); } });
    if (f.finder.usesCoordinator) {
      new Gauge({ name: 'coherd_replica_coordinator_up', help: '1 when the last agent discovery through the coordinator answered', registers: r, collect() { this.set(f.finder.coordinatorError ? 0 : 1); } });
    }
  }

  live(): { ok: boolean; detail: string } {
    if (this.follower.stopping) return { ok: false, detail: 'stopping' };
    const last = this.follower.lastRoundMs;
    if (last !== undefined && this.clock.nowMs() - last > WEDGED_MS) return { ok: false, detail: `no round finished for ${Math.round((this.clock.nowMs() - last) / 1000)} s` };
    return { ok: true, detail: `${this.follower.roundsDone} rounds` };
  }

  ready(): { ok: boolean; detail: string } {
    const live = this.live();
    if (!live.ok) return live;
    if (this.follower.roundsDone === 0) return { ok: false, detail: 'no round finished yet' };
    const stopped = this.follower.followed().filter((c) => c.stopped).map((c) => c.agentId);
    if (stopped.length > 0) return { ok: false, detail: `stream stopped for agent(s) ${stopped.join(', ')} (see coherd replica status)` };
    const finder = this.follower.finder;
    if (finder.coordinatorError !== undefined && (finder.coordinatorOkMs === undefined || this.clock.nowMs() - finder.coordinatorOkMs > COORDINATOR_STALE_MS)) {
      return { ok: false, detail: `coordinator not answering: ${finder.coordinatorError}` };
    }
    return { ok: true, detail: `following ${this.follower.followed().length} agent(s)` };
  }

  /** Every agent's status, computed once per scrape: every gauge's collect starts within the same call, before any read ends. */
  private agents(): Promise<AgentStatus[]> {
    if (this.snapshot) return this.snapshot;
    const cursors = this.follower.followed().map((c) => ({ ...c }));
    const p = Promise.all(cursors.map((c) => agentStatus(c, this.follower.namespace)));
    this.snapshot = p;
    const forget = () => setImmediate(() => { if (this.snapshot === p) this.snapshot = undefined; });
    p.then(forget, forget);
    return p;
  }
}
