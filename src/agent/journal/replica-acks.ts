import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { Clock, TimerHandle } from '../../common/clock';
import { TimeoutError } from '../../common/errors';
import { Logger } from '../../common/logger';
import { REPLICAS_DIR, ReplicaAck } from './journal-codec';

export interface ReplicaAcksOptions {
  journalDir: string;
  clock: Clock;
  logger: Logger;
  /** How often acks are re-read while an fsync waits; default 1 ms. */
  pollMs?: number;
  /** An fsync waiting longer than this for a synchronous replica fails; default 30 s. */
  syncTimeoutMs?: number;
}

interface Waiter {
  sequence: number;
  deadlineMs: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * The replicas registered on one agent's journal (`<journal>/replicas/*.json`,
 * written by the replicas): the lowest acknowledged sequence decides what may
 * be truncated, and synchronous replicas' acks release waiting fsyncs.
 */
export class ReplicaAcks {
  private waiters: Waiter[] = [];
  private timer: TimerHandle | null = null;
  private polling = false;
  private readonly pollMs: number;
  private readonly syncTimeoutMs: number;

  constructor(private readonly o: ReplicaAcksOptions) {
    this.pollMs = o.pollMs ?? 1;
    this.syncTimeoutMs = o.syncTimeoutMs ?? 30_000;
  }

  /** Every registered replica's last ack; unreadable files are logged and skipped. */
  async read(): Promise<ReplicaAck[]> {
    const dir = nodePath.join(this.o.journalDir, REPLICAS_DIR);
    const names = await fsp.readdir(dir).catch(() => [] as string[]);
    const acks: ReplicaAck[] = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      try {
        const ack = JSON.parse(await fsp.readFile(nodePath.join(dir, name), 'utf8')) as ReplicaAck;
        if (Number.isSafeInteger(ack.acked)) acks.push(ack);
      } catch (e) {
        // A replica replaces its file by rename, so a read never sees half of one; a stray file is reported.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.o.logger.warn('unreadable replica ack file', { name, error: (e as Error).message });
      }
    }
    return acks;
  }

  /** Resolves once every synchronous replica has acked `sequence`; rejects with TimeoutError after syncTimeoutMs. */
  waitForSync(sequence: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ sequence, deadlineMs: this.o.clock.nowMs() + this.syncTimeoutMs, resolve, reject });
      if (!this.polling) {
        this.polling = true;
        void this.poll();
      }
    });
  }

  close(): void {
    this.timer?.cancel();
    this.timer = null;
    this.polling = false;
    for (const w of this.waiters.splice(0)) w.reject(new TimeoutError('TIMEOUT', 'journal closed while fsync waited for a replica'));
  }

  private async poll(): Promise<void> {
    this.timer = null;
    if (this.waiters.length === 0) {
      this.polling = false;
      return;
    }
    const sync = (await this.read()).filter((a) => a.sync);
    const acked = sync.length === 0 ? Infinity : Math.min(...sync.map((a) => a.acked));
    const now = this.o.clock.nowMs();
    const still: Waiter[] = [];
    // Waiters that came during the read are checked against it too: an ack already read is durable.
    for (const w of this.waiters.splice(0)) {
      if (w.sequence <= acked) w.resolve();
      else if (now >= w.deadlineMs) {
        this.o.logger.error('synchronous replica did not acknowledge in time', { sequence: w.sequence, acked });
        w.reject(new TimeoutError('TIMEOUT', 'a synchronous replica did not acknowledge the journal in time', { sequence: w.sequence, acked }));
      } else still.push(w);
    }
    this.waiters.push(...still);
    if (this.waiters.length > 0) this.timer = this.o.clock.setTimer(this.pollMs, () => void this.poll());
    else this.polling = false;
  }
}
