import { EventEmitter } from 'node:events';
import { Etcd3 } from 'etcd3';
import { Clock, TimerHandle } from '../common/clock';
import { Logger } from '../common/logger';
import { EtcdKeys } from './etcd-keys';
import { LeaseKeeper } from './lease-keeper';

export interface ElectionOptions {
  etcd: Etcd3;
  keys: EtcdKeys;
  keeper: LeaseKeeper;
  clock: Clock;
  logger: Logger;
  coordinatorId: string;
  /** Address clients should dial for this coordinator. */
  address: string;
  /** Leadership lease TTL; default 5000 ms (etcd's minimum is 2000). */
  ttlMs?: number;
  /** Subtracted from every deadline for clock drift; default 200 ms. */
  driftMarginMs?: number;
  /** Pause between campaign attempts while another coordinator leads. */
  retryMs?: number;
}

export interface LeaderRecord {
  coordinatorId: string;
  address: string;
}

/**
 * Leadership is an etcd lease plus the leader key on it. The epoch is the
 * etcd revision of the winning transaction, so a later leader always has a
 * larger one. The leader's own deadline (last confirmed keepalive's send
 * time + TTL − drift) bounds its right to grant: a deposed leader that has
 * not noticed yet grants nothing (DESIGN §5).
 * Events: 'elected' (epoch), 'lost' (reason).
 */
export class Election extends EventEmitter {
  epoch = 0;
  /** The leader as last seen in etcd while this coordinator was not it. */
  knownLeader: LeaderRecord | undefined;
  private leaseId: string | undefined;
  private lostLeaseId: string | undefined;
  private seenRevision = 0;
  private createRevision = '0';
  private deadlineMs = 0;
  private timer: TimerHandle | undefined;
  private stopped = false;
  private readonly ttlMs: number;
  private readonly driftMarginMs: number;

  constructor(private readonly o: ElectionOptions) {
    super();
    this.ttlMs = Math.max(2000, o.ttlMs ?? 5000);
    this.driftMarginMs = o.driftMarginMs ?? 200;
  }

  get leaderTtlMs(): number {
    return this.ttlMs;
  }

  /** true while this coordinator leads and its leadership deadline has not passed. */
  isLeader(): boolean {
    return this.leaseId !== undefined && this.o.clock.nowMs() < this.deadlineMs;
  }

  /**
   * isLeader(), and when this coordinator still thinks it leads but its
   * deadline passed (the event loop was stalled past it), it steps down
   * now ('lost') instead of acting on a lease etcd may have expired.
   */
  stillLeading(): boolean {
    if (this.isLeader()) return true;
    // In a microtask: the caller may be in the middle of a request or a table operation; nothing acts meanwhile (isLeader() is false).
    if (this.leaseId !== undefined) queueMicrotask(() => this.lose('leadership deadline passed'));
    return false;
  }

  leadershipDeadlineMs(): number {
    return this.deadlineMs;
  }

  /** Tries until elected (or stopped). */
  async campaign(): Promise<void> {
    this.knownLeader = undefined;
    while (!this.stopped) {
      if (await this.tryOnce()) return;
      await this.leaderGoneOrTimeout(this.o.retryMs ?? 1000);
    }
  }

  /** Waits until etcd deletes the leader key (watch), or retryMs at most (a watch can miss while etcd is away). */
  private async leaderGoneOrTimeout(retryMs: number): Promise<void> {
    let watcher: Awaited<ReturnType<ReturnType<Etcd3['watch']>['create']>> | undefined;
    await new Promise<void>((resolve) => {
      const timer = this.o.clock.setTimer(retryMs, resolve);
      const builder = this.o.etcd.watch().key(this.o.keys.leader);
      // From just after the failed attempt, so a deletion in between is not missed.
      if (this.seenRevision) builder.startRevision(String(this.seenRevision + 1));
      builder.create().then((w) => {
        watcher = w;
        w.on('delete', () => { timer.cancel(); resolve(); });
        w.on('error', () => undefined);
      }, () => undefined);
    });
    await watcher?.cancel().catch(() => undefined);
  }

  /** A transaction builder that commits only while this coordinator's leader key is in place. */
  guarded() {
    return this.o.etcd.if(this.o.keys.leader, 'Create', '==', this.createRevision);
  }

  async currentLeader(): Promise<LeaderRecord | undefined> {
    const raw = await this.o.etcd.get(this.o.keys.leader).string();
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as LeaderRecord;
    } catch {
      return undefined;
    }
  }

  async resign(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    const leaseId = this.leaseId;
    this.leaseId = undefined;
    if (leaseId) await this.o.etcd.leaseClient.leaseRevoke({ ID: leaseId }).catch(() => undefined);
  }

  private async tryOnce(): Promise<boolean> {
    const { etcd, keys } = this.o;
    const sentMs = this.o.clock.nowMs();
    try {
      const grant = await etcd.leaseClient.leaseGrant({ TTL: Math.ceil(this.ttlMs / 1000), ID: '0' });
      const record: LeaderRecord = { coordinatorId: this.o.coordinatorId, address: this.o.address };
      const res = await etcd
        .if(keys.leader, 'Create', '==', 0)
        .then(etcd.put(keys.leader).value(JSON.stringify(record)).lease(grant.ID))
        .commit();
      if (!res.succeeded) {
        this.seenRevision = Number(res.header.revision);
        await etcd.leaseClient.leaseRevoke({ ID: grant.ID }).catch(() => undefined);
        this.knownLeader = await this.currentLeader().catch(() => undefined);
        if (this.knownLeader?.coordinatorId === this.o.coordinatorId && this.lostLeaseId) {
          // Our own key from before we lost leadership (etcd was away): give it up now rather than wait for it to expire.
          await etcd.leaseClient.leaseRevoke({ ID: this.lostLeaseId }).catch(() => undefined);
          this.lostLeaseId = undefined;
        }
        return false;
      }
      this.knownLeader = record;
      this.leaseId = grant.ID;
      this.createRevision = res.header.revision;
      this.epoch = Number(res.header.revision);
      this.deadlineMs = sentMs + this.ttlMs - this.driftMarginMs;
      await this.guarded().then(etcd.put(keys.epoch).value(String(this.epoch))).commit();
      this.o.logger.info('elected leader', { epoch: this.epoch, coordinatorId: this.o.coordinatorId });
      this.scheduleKeepAlive();
      this.emit('elected', this.epoch);
      return true;
    } catch (e) {
      this.o.logger.warn('campaign attempt failed', { error: (e as Error).message });
      return false;
    }
  }

  private scheduleKeepAlive(): void {
    this.timer = this.o.clock.setTimer(this.ttlMs / 4, () => void this.keepAlive());
  }

  private async keepAlive(): Promise<void> {
    const leaseId = this.leaseId;
    if (!leaseId || this.stopped) return;
    // Late past the deadline (a stalled loop): etcd may have expired the lease and elected another leader already.
    if (!this.isLeader()) return this.lose('leadership deadline passed');
    const sentMs = this.o.clock.nowMs();
    try {
      const ttlSeconds = await this.o.keeper.keepAlive(leaseId);
      if (ttlSeconds <= 0) return this.lose('leadership lease expired in etcd');
      this.deadlineMs = Math.max(this.deadlineMs, sentMs + ttlSeconds * 1000 - this.driftMarginMs);
    } catch (e) {
      this.o.logger.warn('leadership keepalive failed', { error: (e as Error).message });
    }
    if (this.o.clock.nowMs() >= this.deadlineMs) return this.lose('leadership deadline passed');
    this.scheduleKeepAlive();
  }

  private lose(reason: string): void {
    if (!this.leaseId) return;
    this.lostLeaseId = this.leaseId;
    this.leaseId = undefined;
    void this.o.etcd.leaseClient.leaseRevoke({ ID: this.lostLeaseId }).then(() => { this.lostLeaseId = undefined; }, () => undefined);
    this.o.logger.error('lost leadership', { reason, epoch: this.epoch });
    this.emit('lost', reason);
  }
}
