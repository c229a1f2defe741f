import { Etcd3 } from 'etcd3';
import { Logger } from '../common/logger';
import { UnavailableError } from '../common/errors';
import { Clock, TimerHandle } from '../common/clock';

interface PendingKeepAlive {
  resolve: (ttlSeconds: number) => void;
  reject: (e: Error) => void;
  timer: TimerHandle;
}

type KeepAliveStream = Awaited<ReturnType<Etcd3['leaseClient']['leaseKeepAlive']>>;

/**
 * Every lease this coordinator keeps alive (sessions and its own
 * leadership) goes over ONE etcd LeaseKeepAlive stream (DESIGN §5). A
 * keepalive resolves only when etcd answered, with the lease's new TTL
 * (0 means the lease is gone).
 */
export class LeaseKeeper {
  private stream: KeepAliveStream | undefined;
  private opening: Promise<KeepAliveStream> | undefined;
  private readonly pending = new Map<string, PendingKeepAlive[]>();
  private closed = false;

  constructor(
    private readonly etcd: Etcd3,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly answerTimeoutMs = 3000,
  ) {}

  async keepAlive(leaseId: string): Promise<number> {
    const stream = await this.openStream();
    return new Promise<number>((resolve, reject) => {
      const entry: PendingKeepAlive = {
        resolve,
        reject,
        timer: this.clock.setTimer(this.answerTimeoutMs, () => {
          this.removePending(leaseId, entry);
          reject(new UnavailableError('ETCD_UNAVAILABLE', 'etcd did not confirm the keepalive in time', { leaseId }));
        }),
      };
      const queue = this.pending.get(leaseId);
      if (queue) queue.push(entry);
      else this.pending.set(leaseId, [entry]);
      try {
        stream.write({ ID: leaseId });
      } catch (e) {
        this.removePending(leaseId, entry);
        entry.timer.cancel();
        reject(new UnavailableError('ETCD_UNAVAILABLE', 'etcd keepalive stream broken', { leaseId }, { cause: e }));
      }
    });
  }

  close(): void {
    this.closed = true;
    this.failAll(new UnavailableError('ETCD_UNAVAILABLE', 'lease keeper closed'));
    this.stream?.cancel();
    this.stream = undefined;
  }

  private removePending(leaseId: string, entry: PendingKeepAlive): void {
    const queue = this.pending.get(leaseId);
    if (!queue) return;
    const i = queue.indexOf(entry);
    if (i >= 0) queue.splice(i, 1);
    if (queue.length === 0) this.pending.delete(leaseId);
  }

  private openStream(): Promise<KeepAliveStream> {
    if (this.closed) return Promise.reject(new UnavailableError('ETCD_UNAVAILABLE', 'lease keeper closed'));
    if (this.stream) return Promise.resolve(this.stream);
    if (!this.opening) {
      this.opening = this.etcd.leaseClient.leaseKeepAlive().then(
        (stream) => {
          this.opening = undefined;
          this.stream = stream;
          stream.on('data', (res) => this.onAnswer(String(res.ID), Number(res.TTL)));
          const broken = (e?: Error) => {
            if (this.stream !== stream) return;
            this.stream = undefined;
            if (!this.closed) this.logger.warn('etcd keepalive stream broke', { error: e?.message });
            this.failAll(new UnavailableError('ETCD_UNAVAILABLE', 'etcd keepalive stream broke', {}, { cause: e }));
          };
          stream.on('error', broken);
          stream.on('end', () => broken());
          return stream;
        },
        (e: Error) => {
          this.opening = undefined;
          throw new UnavailableError('ETCD_UNAVAILABLE', 'cannot open etcd keepalive stream', {}, { cause: e });
        },
      );
    }
    return this.opening;
  }

  private onAnswer(leaseId: string, ttlSeconds: number): void {
    const queue = this.pending.get(leaseId);
    const entry = queue?.shift();
    if (queue && queue.length === 0) this.pending.delete(leaseId);
    if (!entry) return;
    entry.timer.cancel();
    entry.resolve(ttlSeconds);
  }

  private failAll(e: Error): void {
    const all = [...this.pending.values()].flat();
    this.pending.clear();
    for (const p of all) {
      p.timer.cancel();
      p.reject(e);
    }
  }
}
