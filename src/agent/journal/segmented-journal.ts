import { close, closeSync, fdatasync, fsync, fsyncSync, openSync, promises as fsp, writevSync } from 'fs';
import { promisify } from 'util';
import * as nodePath from 'path';
import { Clock, SystemClock, TimerHandle } from '../../common/clock';
import { InternalError } from '../../common/errors';
import { Logger } from '../../common/logger';
import { encodeRecord, JournalMeta, REPLICAS_DIR, segmentName } from './journal-codec';
import { listSegments, loadMeta, syncDir } from './journal-dir';
import { JournalRecord, JournalSink } from './journal-record';
import { ReplicaAcks } from './replica-acks';
import { scanSegmentTail } from './segment-tail';

export interface SegmentedJournalOptions {
  /** This agent's journal directory (created if missing); must not be inside the mount. */
  dir: string;
  namespace: string;
  logger: Logger;
  clock?: Clock;
  /** A segment is closed and a new one started past this size; default 64 MiB. */
  segmentBytes?: number;
  /** How often registered replicas' acks are read to truncate; default 1 s. */
  truncateEveryMs?: number;
  /** With no replica registered, this many newest segments are kept; default 2. */
  keepSegmentsWithoutReplica?: number;
  /** An fsync waiting for a synchronous replica fails after this long; default 30 s. */
  syncTimeoutMs?: number;
  /** Past this many bytes appended since the last sync, one is started in the background; default 8 MiB (0: never). */
  earlySyncBytes?: number;
}

/**
 * Why start syncs early: the kernel starts writing dirty pages back only
 * past dirty_background_ratio (10 % of memory: GiBs here), so without it a
 * 256 MiB stream left all of its journal copy for the application's fsync
 * to write, after the backing file's. Synced in the background every few
 * MiB, the journal goes to disk while the stream is still arriving.
 */
const EARLY_SYNC_BYTES = 8 * 1024 * 1024;

/**
 * The agent's replayable journal (DESIGN §11): a directory of segment files
 * `seg-<first sequence>.jnl` of checksummed records. A record is written
 * with one write(2) when the vop completes, before the agent answers any
 * later message, so a record is in the file before the token it ran under
 * can go to another host: a replica that reads every stream twice sees
 * every record that precedes one it has. sync() fdatasyncs. Segments are
 * removed once every registered replica acknowledged all their records.
 */
export class SegmentedJournal implements JournalSink {
  private fd: number;
  private segmentSize: number;
  private last: number;
  private failure: unknown = null;
  private closed = false;
  private dirDirty = false;
  private truncation: Promise<number> = Promise.resolve(0);
  private timer: TimerHandle | null = null;
  private readonly acks: ReplicaAcks;
  /** fdatasync, segment retirement and close run one after the other: none acts on a closed descriptor. */
  private fdOps: Promise<void> = Promise.resolve();
  /** Bytes appended since the last sync started (early or not). */
  private unsynced = 0;
  private earlySyncing = false;
  private earlySyncCount = 0;

  private constructor(
    private readonly o: SegmentedJournalOptions & { clock: Clock },
    readonly meta: JournalMeta,
    fd: number, size: number, last: number,
    private readonly logger: Logger,
  ) {
    this.fd = fd;
    this.segmentSize = size;
    this.last = last;
    this.acks = new ReplicaAcks({ journalDir: o.dir, clock: o.clock, logger, syncTimeoutMs: o.syncTimeoutMs });
    this.scheduleTruncate();
  }

  static async open(options: SegmentedJournalOptions): Promise<SegmentedJournal> {
    const o = { ...options, clock: options.clock ?? new SystemClock() };
    const logger = options.logger.child({ component: 'journal', dir: options.dir });
    await fsp.mkdir(nodePath.join(o.dir, REPLICAS_DIR), { recursive: true });
    const meta = await loadMeta(o.dir, o.namespace);
    const segments = await listSegments(o.dir);
    let last = 0;
    let current: string;
    if (segments.length === 0) {
      current = segmentName(1);
    } else {
      const newest = segments[segments.length - 1];
      current = segmentName(newest);
      const tail = await scanSegmentTail(nodePath.join(o.dir, current), logger);
      last = tail.lastSequence || newest - 1;
    }
    const fd = openSync(nodePath.join(o.dir, current), 'a');
    const { size } = await fsp.stat(nodePath.join(o.dir, current));
    logger.info('journal opened', { agentId: meta.agentId, lastSequence: last, segments: segments.length });
    const journal = new SegmentedJournal(o, meta, fd, size, last, logger);
    journal.dirDirty = true;
    return journal;
  }

  get lastSequence(): number {
    return this.last;
  }

  /** Background syncs started so far (earlySyncBytes). */
  get earlySyncs(): number {
    return this.earlySyncCount;
  }

  append(record: JournalRecord): void {
    if (this.closed) {
      this.logger.error('journal record appended after close', { sequence: record.sequence, op: record.op });
      return;
    }
    if (this.failure) return; // reported by sync()/close(), as fsync(2) reports write-back errors
    try {
      const parts = encodeRecord(record);
      const length = parts.reduce((n, b) => n + b.length, 0);
      if (this.segmentSize > 0 && this.segmentSize + length > (this.o.segmentBytes ?? 64 * 1024 * 1024)) this.roll(record.sequence);
      writeAll(this.fd, parts, length);
      this.segmentSize += length;
      this.last = record.sequence;
      this.unsynced += length;
      if (this.unsynced >= (this.o.earlySyncBytes ?? EARLY_SYNC_BYTES) && this.o.earlySyncBytes !== 0 && !this.earlySyncing) this.syncEarly();
    } catch (e) {
      this.failure = e;
      this.logger.error('journal write failed', { sequence: record.sequence, error: e });
    }
  }

  hasRoom(): boolean {
    return true;
  }

  async waitForRoom(): Promise<void> {}

  /** fdatasync on the thread pool (the agent keeps serving meanwhile); older segments were synced when retired. */
  async sync(): Promise<void> {
    this.throwIfFailed();
    this.unsynced = 0;
    await this.onFd(async () => {
      await fdatasyncAsync(this.fd);
      if (this.dirDirty) {
        this.dirDirty = false;
        await syncDir(this.o.dir);
      }
    });
    this.throwIfFailed();
  }

  waitForSyncReplicas(sequence: number): Promise<void> {
    return this.acks.waitForSync(sequence);
  }

  /** Removes segments every registered replica has acknowledged (or, with none, all but the newest few). */
  truncate(): Promise<number> {
    // One at a time: a call during another runs after it, against the acks of then.
    const run = this.truncation.catch(() => 0).then(() => (this.closed ? 0 : this.truncateNow()));
    this.truncation = run;
    return run;
  }

  private async truncateNow(): Promise<number> {
    const acks = await this.acks.read();
    const segments = await listSegments(this.o.dir);
    const keep = this.o.keepSegmentsWithoutReplica ?? 2;
    let removable: number[];
    if (acks.length === 0) {
      removable = segments.slice(0, Math.max(0, segments.length - keep));
    } else {
      const acked = Math.min(...acks.map((a) => a.acked));
      // A segment may go when the next one starts at or below acked + 1 (every record in it is acked).
      removable = segments.filter((first, i) => i < segments.length - 1 && segments[i + 1] - 1 <= acked);
    }
    for (const first of removable) await fsp.rm(nodePath.join(this.o.dir, segmentName(first)), { force: true });
    if (removable.length > 0) this.logger.info('journal truncated', { segments: removable.length, firstKept: segments[removable.length] });
    return removable.length;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    this.acks.close();
    await this.onFd(async () => {
      try {
        if (!this.failure) await fsyncAsync(this.fd);
      } finally {
        await closeAsync(this.fd);
      }
    });
    if (this.failure) throw this.wrap();
  }

  /** Runs fn after every earlier descriptor operation; a failure is kept (sticky, like fsync's). */
  private onFd(fn: () => Promise<void>): Promise<void> {
    const run = this.fdOps.then(fn).catch((e) => {
      this.failure ??= e;
    });
    this.fdOps = run;
    return run;
  }

  /**
   * Starts a segment at `first`. The old one is fsync'ed and closed in the
   * background, after any fdatasync still running on it; a later sync()
   * waits for that, so it covers the old segment's records too.
   */
  private roll(first: number): void {
    const old = this.fd;
    this.fd = openSync(nodePath.join(this.o.dir, segmentName(first)), 'a');
    this.segmentSize = 0;
    this.dirDirty = true;
    void this.onFd(async () => {
      try {
        await fsyncAsync(old);
      } finally {
        await closeAsync(old);
      }
    });
    void this.truncate().catch((e) => this.logger.warn('journal truncation failed', { error: (e as Error).message }));
  }

  /** fdatasync in the background (nobody waits; a failure is sticky and reported by the next sync, as fsync(2) would). */
  private syncEarly(): void {
    this.unsynced = 0;
    this.earlySyncing = true;
    this.earlySyncCount++;
    void this.onFd(() => fdatasyncAsync(this.fd)).finally(() => {
      this.earlySyncing = false;
    });
  }

  private scheduleTruncate(): void {
    this.timer = this.o.clock.setTimer(this.o.truncateEveryMs ?? 1000, () => {
      void this.truncate()
        .catch((e) => this.logger.warn('journal truncation failed', { error: (e as Error).message }))
        .finally(() => { if (!this.closed) this.scheduleTruncate(); });
    });
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.wrap();
  }

  private wrap(): Error {
    return new InternalError('INTERNAL', 'journal write failed', {}, { cause: this.failure });
  }
}

const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);

/** One writev(2) for a record's parts, continued if the kernel took less. */
function writeAll(fd: number, parts: Buffer[], length: number): void {
  let done = writevSync(fd, parts);
  while (done < length) {
    const rest = Buffer.concat(parts).subarray(done);
    const n = writevSync(fd, [rest]);
    if (n === 0) throw new InternalError('INTERNAL', 'journal write made no progress');
    done += n;
  }
}
