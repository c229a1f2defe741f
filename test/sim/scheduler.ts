import type { Clock, TimerHandle } from '../../src/common/clock';
import { SeededRandom } from '../../src/chaos/seeded-random';

/** One thing that will happen: a message arriving, a timer firing, a store operation completing. */
export interface SimEvent {
  readonly id: number;
  atMs: number;
  /** Who it happens to: a host name, 'coordinator' or 'store'; a paused owner's events wait. */
  readonly owner: string;
  /** FIFO channel (a stream direction, a host's store queue); only a channel's head may run. Timers have none. */
  readonly channel: string | undefined;
  readonly label: string;
  readonly run: () => void;
  cancelled: boolean;
}

/**
 * Deterministic discrete-event scheduler with virtual time. In random mode
 * the earliest runnable event runs next (ties broken by the seeded RNG,
 * message delays are random, so interleavings vary by seed). In explore
 * mode a chooser picks among the heads of every channel and the earliest
 * timer, so a depth-first search can enumerate interleavings. After each
 * event, promise continuations run to completion before the next event
 * (`settle`), as they would between two I/O callbacks of Node's loop.
 */
export class SimScheduler {
  nowMs = 0;
  readonly rng: SeededRandom;
  readonly trace: string[] = [];
  /** Explore mode: picks the index of the candidate to run. */
  chooser: ((candidates: readonly SimEvent[]) => number) | undefined;
  private events: SimEvent[] = [];
  private nextId = 1;
  private readonly paused = new Set<string>();

  constructor(seed: number, private readonly traceLimit = 400) {
    this.rng = new SeededRandom(seed);
  }

  schedule(delayMs: number, owner: string, label: string, run: () => void, channel?: string): SimEvent {
    const e: SimEvent = { id: this.nextId++, atMs: this.nowMs + Math.max(0, delayMs), owner, channel, label, run, cancelled: false };
    if (channel !== undefined) {
      // FIFO per channel: never earlier than what is queued before it.
      for (const o of this.events) if (o.channel === channel && !o.cancelled && o.atMs > e.atMs) e.atMs = o.atMs;
    }
    this.events.push(e);
    return e;
  }

  /** A Clock whose timers belong to `owner` (they wait while it is paused). */
  clockFor(owner: string): Clock {
    return {
      nowMs: () => this.nowMs,
      setTimer: (delayMs: number, fn: () => void): TimerHandle => {
        const e = this.schedule(delayMs, owner, 'timer', fn);
        return { cancel: () => { e.cancelled = true; } };
      },
    };
  }

  pause(owner: string): void {
    this.paused.add(owner);
  }

  resume(owner: string): void {
    this.paused.delete(owner);
  }

  isPaused(owner: string): boolean {
    return this.paused.has(owner);
  }

  /** Drops what is queued on a channel (a broken connection loses what was in flight). */
  dropChannel(channel: string): void {
    for (const e of this.events) if (e.channel === channel) e.cancelled = true;
  }

  pending(): number {
    this.events = this.events.filter((e) => !e.cancelled);
    return this.events.length;
  }

  /** Runs the next event and lets its promise continuations finish; false when nothing can run. */
  async step(): Promise<boolean> {
    const candidates = this.candidates();
    if (candidates.length === 0) return false;
    let chosen: SimEvent;
    if (this.chooser) chosen = candidates[this.chooser(candidates)];
    else {
      const first = candidates[0].atMs;
      const tied = candidates.filter((c) => c.atMs === first);
      chosen = this.rng.pick(tied);
    }
    chosen.cancelled = true;
    if (chosen.atMs > this.nowMs) this.nowMs = chosen.atMs;
    if (this.trace.length >= this.traceLimit) this.trace.shift();
    this.trace.push(`${this.nowMs.toFixed(1)} ${chosen.owner} ${chosen.label}`);
    chosen.run();
    await settle();
    return true;
  }

  /** Runnable events, earliest first: channel heads and timers of owners not paused. */
  private candidates(): SimEvent[] {
    this.events = this.events.filter((e) => !e.cancelled);
    const heads = new Map<string, SimEvent>();
    const out: SimEvent[] = [];
    let earliestTimer: SimEvent | undefined;
    for (const e of this.events) {
      if (this.paused.has(e.owner)) continue;
      if (e.channel === undefined) {
        if (!this.chooser) out.push(e);
        else if (earliestTimer === undefined || e.atMs < earliestTimer.atMs) earliestTimer = e;
        continue;
      }
      const head = heads.get(e.channel);
      if (head === undefined || e.atMs < head.atMs || (e.atMs === head.atMs && e.id < head.id)) heads.set(e.channel, e);
    }
    out.push(...heads.values());
    if (earliestTimer) out.push(earliestTimer);
    return out.sort((a, b) => a.atMs - b.atMs || a.id - b.id);
  }
}

/** Lets every pending promise continuation run (there is no real I/O in the simulation). */
export async function settle(): Promise<void> {
  await new Promise((r) => setImmediate(r));
}
