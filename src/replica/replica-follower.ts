import * as nodePath from 'path';
import { Clock, SystemClock, TimerHandle } from '../common/clock';
import { Logger } from '../common/logger';
import { AppliedHistory } from './applied-history';
import { pendingOf, PendingRecord, planApply } from './apply-order';
import { AgentFinder } from './agent-finder';
import { ListSessions } from './coordinator-discovery';
import { JournalStream } from './journal-stream';
import { LagSamples } from './lag-samples';
import { EXCHANGE_INTENT_FILE, ExchangeIntent } from './exchange-intent';
import { MirrorApplier } from './mirror-apply';
import { writeAck } from './replica-acker';
import { AgentCursor, ReplicaState } from './replica-state';
import { rescanJournals } from './replica-rescan';
import { writeLiveStatus } from './replica-status';

export interface ReplicaOptions {
  namespace: string;
  /** Where the agents' journal directories are found (docs/replication.md). */
  journalRoots: string[];
  /** The coordinator's ListSessions: live agents advertise their journal directories there. */
  listSessions?: ListSessions;
  mirrorDir: string;
  stateDir: string;
  /** Name this replica registers under on every journal; default "replica". */
  name?: string;
  /** fsync on the agents waits for this replica (DRBD protocol C). */
  sync?: boolean;
  /** The shared backing store, read when the replica must rescan. */
  backingDir?: string;
  /** Pause between read rounds; default 5 ms, 1 ms with `sync` (an fsync waits for two rounds). */
  pollMs?: number;
  /** How often new agents are looked for; default 2 s. */
  discoverEveryMs?: number;
  /** After a rescan, journal records from this long before it are replayed; default 10 s. */
  replayWindowMs?: number;
  /** A rescan whose replay point is recent waits this long after it (an agent flushes a dirty file within 1 s); default 3 s. */
  rescanSettleMs?: number;
  clock?: Clock;
  logger: Logger;
}

/**
 * `coherd replica` (DESIGN §11): follows every agent journal of a
 * namespace, applies the records to the mirror in the ordering rule's
 * order (apply-order.ts), makes them durable, saves its cursors, then
 * acknowledges to the agents. A stream with a bad record is stopped there
 * and reported; the others go on.
 */
export class ReplicaFollower {
  readonly lag = new LagSamples();
  readonly finder: AgentFinder;
  /** Rounds completed (read, applied, acked) since start. */
  roundsDone = 0;
  /** Clock ms at the end of the last completed round. */
  lastRoundMs: number | undefined;
  private readonly streams = new Map<string, JournalStream>();
  private pending: PendingRecord[] = [];
  private history = new AppliedHistory();
  private round = 0;
  private nextDiscoverMs = 0;
  private nextLiveMs = 0;
  /** Agents whose stream broke at a bad record: records before it are still applied. */
  private readonly haltAt = new Map<string, number>();
  private stateDirty = false;
  private readonly durableListeners: Array<(agentId: string, lagMs: number) => void> = [];
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  private stopRequested = false;
  private applier: MirrorApplier;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly name: string;

  private constructor(private readonly o: ReplicaOptions, readonly state: ReplicaState) {
    this.clock = o.clock ?? new SystemClock();
    this.logger = o.logger.child({ component: 'replica' });
    this.name = o.name ?? 'replica';
    this.applier = new MirrorApplier(o.mirrorDir, state.inodeMap(), this.logger, new ExchangeIntent(nodePath.join(o.stateDir, EXCHANGE_INTENT_FILE)));
    this.finder = new AgentFinder({ namespace: o.namespace, journalRoots: o.journalRoots, listSessions: o.listSessions, clock: this.clock, logger: this.logger });
  }

  get namespace(): string {
    return this.o.namespace;
  }

  /** Called with each applied record's lag (op completed on the agent → durable on the mirror), in ms. */
  addDurableListener(l: (agentId: string, lagMs: number) => void): void {
    this.durableListeners.push(l);
  }

  /** Cursors of the agents being followed now (journal found and readable). */
  followed(): AgentCursor[] {
    return [...this.streams.keys()].map((id) => this.state.data.agents[id]);
  }

  get stopping(): boolean {
    return this.stopRequested;
  }

  static async open(o: ReplicaOptions): Promise<ReplicaFollower> {
    const state = await ReplicaState.load(o.stateDir, { name: o.name ?? 'replica', namespace: o.namespace, mirror: o.mirrorDir });
    return new ReplicaFollower(o, state);
  }

  /** Runs rounds until stop(). */
  start(): void {
    const loop = () => {
      this.timer = null;
      if (this.stopRequested) return;
      this.running = this.step()
        .catch((e) => {
          this.logger.error('replica round failed', { error: (e as Error).message });
        })
        .finally(() => {
          this.running = null;
          if (!this.stopRequested) this.timer = this.clock.setTimer(this.o.pollMs ?? (this.o.sync ? 1 : 5), loop);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopRequested = true;
    this.timer?.cancel();
    await this.running;
    this.nextLiveMs = 0;
    await this.writeLive();
  }

  /** One round: find agents, read every stream to its end, apply what the ordering rule lets go, ack. */
  async step(): Promise<void> {
    await this.discover();
    const round = ++this.round;
    const behind: string[] = [];
    for (const [agentId, stream] of this.streams) {
      if (this.state.data.agents[agentId].stopped) continue;
      const read = await stream.read();
      for (const { record, bytes } of read.records) this.pending.push(pendingOf(agentId, record, round, bytes));
      if (read.corrupt) {
        // What came before the bad record is good: it is still applied, nothing from the bad one on.
        this.haltAt.set(agentId, stream.position + 1);
        this.stopStream(agentId, `corrupt journal record ${stream.position + 1} in ${read.corrupt.segment} at byte ${read.corrupt.offset}: ${read.corrupt.error}`, false);
      }
      if (read.gap) behind.push(agentId);
    }
    if (behind.length > 0) {
      await this.rescan(behind);
      return;
    }
    await this.applyReady(round - 1);
    await this.writeLive();
    this.roundsDone++;
    this.lastRoundMs = this.clock.nowMs();
  }

  /** Lag quantiles for `coherd replica status`, about once a second. */
  private async writeLive(): Promise<void> {
    const now = this.clock.nowMs();
    if (now < this.nextLiveMs) return;
    this.nextLiveMs = now + 1000;
    await writeLiveStatus(this.o.stateDir, this.lag).catch((e) => this.logger.warn('replica live status not written', { error: (e as Error).message }));
  }

  private async applyReady(readyRound: number): Promise<void> {
    const { order, forced } = planApply(this.pending, readyRound);
    if (forced > 0) this.logger.error('conflicting records with no consistent order', { forced });
    const done = new Set<PendingRecord>();
    const progressed = new Set<string>();
    for (const p of order) {
      done.add(p);
      const cursor = this.state.data.agents[p.agentId];
      if (cursor.stopped && !(p.record.sequence < (this.haltAt.get(p.agentId) ?? 0))) continue;
      if (p.record.direct) {
        this.stopStream(p.agentId, `record ${p.record.sequence} (${p.record.op} ${p.record.path}) ran in direct mode: hosts wrote that file in no order a replica can replay; run the coordinator with --direct-mode-alone 0 where a replica follows (docs/replication.md)`);
        continue;
      }
      const late = this.history.lateAgainst(p);
      if (late) {
        this.stopStream(p.agentId, `record ${p.record.sequence} (${p.record.op}) came after record ${late.sequence} of ${late.agentId}, which ran under a later conflicting token`);
        continue;
      }
      try {
        await this.applier.apply(p.record);
      } catch (e) {
        this.stopStream(p.agentId, `record ${p.record.sequence} (${p.record.op} ${p.record.path}) could not be applied: ${(e as Error).message}`);
        continue;
      }
      this.history.add(p);
      cursor.applied = p.record.sequence;
      cursor.appliedRecords++;
      cursor.appliedBytes += p.bytes;
      cursor.lastToken = p.record.fencingToken ?? cursor.lastToken;
      cursor.lastOpTimeMs = p.record.timeMs;
      progressed.add(p.agentId);
    }
    this.pending = this.pending.filter((p) => !done.has(p));
    if (progressed.size === 0) {
      if (this.stateDirty) await this.state.save(this.applier.inodes);
      this.stateDirty = false;
      return;
    }
    await this.applier.durable();
    await this.state.save(this.applier.inodes);
    this.stateDirty = false;
    const now = Date.now();
    for (const p of done) {
      if (!progressed.has(p.agentId) || p.record.sequence > this.state.data.agents[p.agentId].applied) continue;
      this.lag.add(now - p.record.timeMs);
      for (const l of this.durableListeners) l(p.agentId, now - p.record.timeMs);
    }
    for (const agentId of progressed) await this.ack(agentId);
  }

  private async discover(): Promise<void> {
    const now = this.clock.nowMs();
    if (now < this.nextDiscoverMs) return;
    this.nextDiscoverMs = now + (this.o.discoverEveryMs ?? 2000);
    const known = Object.values(this.state.data.agents).map((c) => ({ agentId: c.agentId, dir: c.dir }));
    for (const found of await this.finder.find(known)) {
      if (this.streams.has(found.agentId)) continue;
      const known = this.state.data.agents[found.agentId];
      const cursor = known ?? { agentId: found.agentId, dir: found.dir, applied: 0, appliedRecords: 0, appliedBytes: 0, lastToken: null, lastOpTimeMs: null };
      cursor.dir = found.dir;
      this.state.data.agents[found.agentId] = cursor;
      this.streams.set(found.agentId, new JournalStream(found.dir, this.o.namespace, cursor.applied));
      await this.ack(found.agentId); // registers: from now on the agent keeps what this replica has not acked
      this.logger.info('following agent journal', { agentId: found.agentId, dir: found.dir, from: cursor.applied + 1, stopped: cursor.stopped });
    }
  }

  private async ack(agentId: string): Promise<void> {
    const c = this.state.data.agents[agentId];
    await writeAck(c.dir, { name: this.name, sync: this.o.sync ?? false, acked: c.applied, wallMs: Date.now() })
      .catch((e) => this.logger.warn('replica ack failed', { agentId, error: (e as Error).message }));
  }

  /** Stops following an agent; `dropPending`: also forget what was read and not applied yet. */
  private stopStream(agentId: string, reason: string, dropPending = true): void {
    const c = this.state.data.agents[agentId];
    if (c.stopped) return;
    c.stopped = reason;
    this.stateDirty = true;
    this.logger.error('replica stopped following an agent', { agentId, applied: c.applied, reason });
    if (dropPending) {
      this.haltAt.delete(agentId);
      this.pending = this.pending.filter((p) => p.agentId !== agentId);
    }
  }

  private async rescan(behind: string[]): Promise<void> {
    if (!this.o.backingDir) {
      for (const id of behind) this.stopStream(id, 'behind the truncated journal, and no --backing to rescan from');
      return;
    }
    this.logger.warn('replica behind truncated journals: rescanning the backing store', { agents: behind });
    const live = [...this.streams.keys()].filter((id) => !this.state.data.agents[id].stopped);
    const result = await rescanJournals({
      backingDir: this.o.backingDir, mirrorDir: this.o.mirrorDir, namespace: this.o.namespace,
      agents: live.map((id) => ({ agentId: id, dir: this.state.data.agents[id].dir })),
      replayWindowMs: this.o.replayWindowMs ?? 10_000, settleMs: this.o.rescanSettleMs ?? 3000, clock: this.clock, logger: this.logger,
    });
    this.applier = new MirrorApplier(this.o.mirrorDir, result.inodes, this.logger, new ExchangeIntent(nodePath.join(this.o.stateDir, EXCHANGE_INTENT_FILE)));
    this.pending = [];
    this.history = new AppliedHistory();
    for (const [agentId, from] of result.replayFrom) {
      const c = this.state.data.agents[agentId];
      c.applied = from - 1;
      this.streams.get(agentId)!.reset(c.applied);
    }
    for (const [agentId, reason] of result.stopped) this.stopStream(agentId, reason);
    this.state.data.rescans++;
    await this.state.save(this.applier.inodes);
    for (const agentId of result.replayFrom.keys()) await this.ack(agentId);
  }
}
