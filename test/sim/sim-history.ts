import { isCoherdError } from '../../src/common/errors';
import { ErrnoError } from '../../src/agent/backing/errno-error';
import type { SimScheduler } from './scheduler';
import type { SimHost } from './sim-host';
import { SLOT_BYTES, SlotLayout, ownerOf, slotContent, slotOffset, slotSeq, slotsWithin } from './slots';

interface WriteOp { host: number; seq: number; startAt: number; endAt?: number; ok?: boolean }

/**
 * The workload's operations and what they returned, checked as they
 * complete (reads) and at the end (lost writes, errors). Times are logical
 * stamps (#n): invocations, completions and session losses in the order
 * they happened.
 *
 * Coherence (DESIGN §8.3): a read of a slot that no write overlapped in
 * time returns an untorn record at least as new as the last write that
 * returned before the read started — unless that write could have been
 * lost with an error (its host lost its session before the read started
 * and had not fsynced it).
 */
export class SimHistory {
  ops = 0;
  errors = 0;
  private readonly writes: WriteOp[][];
  private readonly nextSeq: number[];
  /** Per slot: seqs an fsync of its owner made durable, and when the fsync returned. */
  private readonly durable: Array<Array<{ seq: number; at: number }>>;
  private readonly sessionLosses: number[][];
  private readonly lossReports: number[][];
  private readonly errorLog: Array<{ host: number; op: string; error: unknown }> = [];
  readonly violations: string[] = [];

  private readonly hosts: number;

  constructor(private readonly layout: SlotLayout, private readonly slots: number, private readonly sched: SimScheduler) {
    const hosts = layout.hosts;
    this.hosts = hosts;
    this.writes = Array.from({ length: slots }, () => []);
    this.nextSeq = new Array(slots).fill(0);
    this.durable = Array.from({ length: slots }, () => []);
    this.sessionLosses = Array.from({ length: hosts }, () => []);
    this.lossReports = Array.from({ length: hosts }, () => []);
  }

  private stamp = 0;

  /** Logical time: strictly increasing, so two things at one simulated millisecond still have an order. */
  private get now(): number {
    return ++this.stamp;
  }

  sessionLost(host: number): void {
    this.sessionLosses[host].push(this.now);
  }

  async write(h: SimHost, host: number, fh: number, slot: number): Promise<void> {
    this.ops++;
    const op: WriteOp = { host, seq: ++this.nextSeq[slot], startAt: this.now };
    this.writes[slot].push(op);
    try {
      await h.write(fh, slotOffset(slot, this.layout), slotContent(ownerOf(slot, this.layout), op.seq));
      op.ok = true;
    } catch (e) {
      op.ok = false;
      this.failed(host, 'write', e);
    } finally {
      op.endAt = this.now;
    }
  }

  async read(h: SimHost, host: number, fh: number, offset: number, length: number): Promise<void> {
    this.ops++;
    const startAt = this.now;
    let data: Buffer;
    try {
      data = await h.read(fh, offset, length);
    } catch (e) {
      return this.failed(host, 'read', e);
    }
    const endAt = this.now;
    const simMs = this.sched.nowMs;
    for (const slot of slotsWithin(offset, data.length, this.slots, this.layout)) {
      const concurrent = this.writes[slot].some((w) => w.startAt <= endAt && (w.endAt === undefined || w.endAt >= startAt));
      if (concurrent) continue;
      const at = slotOffset(slot, this.layout) - offset;
      const seq = slotSeq(data.subarray(at, at + SLOT_BYTES), ownerOf(slot, this.layout));
      const required = this.requiredAt(slot, startAt);
      if (seq < 0) this.violations.push(`host h${host} read a torn or foreign record in slot ${slot} at ${simMs.toFixed(1)} ms`);
      else if (seq < required) this.violations.push(`stale read: host h${host} read seq ${seq} of slot ${slot} at ${simMs.toFixed(1)} ms; seq ${required} had returned before (${this.describe(slot)})`);
      else if (seq > this.nextSeq[slot]) this.violations.push(`host h${host} read seq ${seq} of slot ${slot}, never written`);
    }
  }

  async fsync(h: SimHost, host: number, fh: number): Promise<void> {
    this.ops++;
    const startAt = this.now;
    try {
      await h.fsync(fh);
      const doneAt = this.now;
      // A write before a session loss may be gone (its loss was reported once, maybe to an earlier fsync).
      const lostBefore = (w: WriteOp) => this.sessionLosses[host].some((t) => t >= (w.endAt as number) && t <= startAt);
      for (let slot = 0; slot < this.slots; slot++) {
        if (ownerOf(slot, this.layout) !== host) continue;
        for (const w of this.writes[slot]) if (w.ok && (w.endAt as number) <= startAt && !lostBefore(w)) this.durable[slot].push({ seq: w.seq, at: doneAt });
      }
    } catch (e) {
      this.lossReports[host].push(this.now);
      this.failed(host, 'fsync', e);
    }
  }

  /** At quiescence: each host fsyncs the file once more (a lost write's error shows here if not before). */
  finalSync(h: SimHost, host: number): Promise<void> {
    return this.fsync(h, host, h.open(100));
  }

  /** The last acknowledged write of every slot is in the store, or its loss was reported to its writer. */
  lostWithoutError(content: Buffer): string | undefined {
    for (let slot = 0; slot < this.slots; slot++) {
      const owner = ownerOf(slot, this.layout);
      const acked = this.writes[slot].filter((w) => w.ok);
      if (acked.length === 0) continue;
      const last = acked[acked.length - 1];
      const start = slotOffset(slot, this.layout);
      const stored = slotSeq(content.subarray(start, start + SLOT_BYTES), owner);
      if (stored >= last.seq) continue;
      const reported = this.lossReports[owner].some((t) => t >= (last.endAt as number));
      if (!reported) return `acknowledged write lost without an error: slot ${slot} holds seq ${stored}, host h${owner}'s write of seq ${last.seq} returned (${this.describe(slot)})`;
    }
    return this.violations[0];
  }

  /** Errors must be clear domain or errno errors, and only hosts that were paused (lost their session) may see any. */
  unexpectedErrors(pausedHosts: Set<string>): string | undefined {
    for (const e of this.errorLog) {
      if (!isCoherdError(e.error) && !(e.error instanceof ErrnoError)) return `unclear error on h${e.host} ${e.op}: ${String((e.error as Error)?.stack ?? e.error)}`;
      if (!pausedHosts.has(`h${e.host}`)) return `h${e.host} stayed responsive but its ${e.op} failed: ${(e.error as Error).message}`;
    }
    return undefined;
  }

  private requiredAt(slot: number, startAt: number): number {
    const owner = ownerOf(slot, this.layout);
    let required = this.durableBefore(slot, startAt);
    for (const w of this.writes[slot]) {
      if (!w.ok || (w.endAt as number) > startAt) continue;
      const lostSince = this.sessionLosses[owner].some((t) => t >= (w.endAt as number) && t <= startAt);
      if (!lostSince && w.seq > required) required = w.seq;
    }
    return required;
  }

  /** The newest seq of the slot an fsync made durable before `startAt`. */
  private durableBefore(slot: number, startAt: number): number {
    let seq = 0;
    for (const d of this.durable[slot]) if (d.at <= startAt && d.seq > seq) seq = d.seq;
    return seq;
  }

  /** The slot's writes, its owner's session losses and durable points, for a violation's message. */
  private describe(slot: number): string {
    const owner = ownerOf(slot, this.layout);
    const w = this.writes[slot].map((x) => `seq ${x.seq} ${x.ok ? 'ok' : 'failed'} #${x.startAt}–#${x.endAt}`).join(', ');
    const d = this.durable[slot].map((x) => `${x.seq}@#${x.at}`).join(', ');
    return `writes: ${w}; h${owner} lost its session at [${this.sessionLosses[owner].map((t) => `#${t}`).join(', ')}]; durable: [${d}]`;
  }

  private failed(host: number, op: string, error: unknown): void {
    this.errors++;
    this.errorLog.push({ host, op, error });
  }
}
