import { SimScheduler, SimEvent } from './scheduler';
import { SimNetwork } from './sim-network';
import { SimCoordinator } from './sim-coordinator';
import { SimHost, TTL_MS } from './sim-host';
import { SimStore } from './sim-store';
import { SimLog } from './sim-log';
import { SimHistory } from './sim-history';
import { beliefOutsideTable, beliefsOfGrants, beliefsOfTokens, cachedUnderDirect, conflictingBeliefs, kernelCachedUnderDirect } from './sim-checks';
import { SLOT_BYTES, slotOffset, slotsOf } from './slots';
import { applyMutation, applyTableMutation, Mutation } from './mutations';

export const INO = 100;
export const RESOURCE = `ns/${INO}`;

export interface SimOptions {
  seed: number;
  hosts: number;
  /** Slots per worker; the file has hosts × workers × slotsPerWorker slots. */
  slotsPerWorker: number;
  workersPerHost: number;
  opsPerWorker: number;
  /** Bytes from one slot's start to the next (default SLOT_BYTES: slots share pages). */
  slotStride?: number;
  /** Longest pause between a worker's operations (default 0). Long pauses keep contention low, so caches stay on. */
  thinkMs?: number;
  /** Link breaks, failovers, pauses past the TTL. */
  faults: boolean;
  /**
   * Which faults (default break, failover, pause) and at most how many
   * (default 4). 'isolate' (opt-in, so the seeds of the defaults keep their
   * schedules) cuts a host off for 0.5–1.5 TTL: no link gets through.
   */
  faultKinds?: Array<'break' | 'failover' | 'pause' | 'isolate'>;
  maxFaults?: number;
  maxDelayMs: number;
  /** Explore mode: picks among runnable events (see SimScheduler.chooser). */
  chooser?: (candidates: readonly SimEvent[]) => number;
  /**
   * Host h0's kernel caches the file (a page-cache open held for the whole
   * run, docs/fuse.md): its data and attr acquires carry noDirect, and it
   * may never hold a DIRECT token of the file, since only a revoke drops
   * the kernel's pages and mappings.
   */
  kernelCachingHost?: boolean;
  /** A deliberate bug, to show the checks catch it. */
  mutation?: Mutation;
  maxSteps?: number;
  /** How much of the schedule's tail a result keeps (default 60 events). */
  traceLines?: number;
  /** Called after every step with a function giving a canonical key of the protocol state (explore mode counts states). */
  onStep?: (stateKey: () => string) => void;
}

export interface SimResult {
  seed: number;
  violation?: string;
  steps: number;
  simMs: number;
  faults: Record<string, number>;
  ops: number;
  errors: number;
  trace: string[];
  /** Explore mode: how many candidates each step had. */
  branching: number[];
  /** Operations the hosts ran under DIRECT tokens (docs/direct-mode.md). */
  directOps: number;
}

class Violation extends Error {}

/**
 * One seeded run of the token protocol: real coordinator code (streams,
 * requests, lock table, leader state) and real agents (client, token
 * cache, revoke handler, write-back) over a simulated network and store.
 * Hosts read a shared file, then write their own interleaved slots, read
 * ranges and fsync, while faults strike. After every step it checks the
 * clients' view (no two hosts believe conflicting tokens; beliefs within
 * the coordinator's grants); at the end, that every operation finished,
 * that nothing acknowledged was lost without an error, and that no host
 * that stayed responsive was evicted.
 */
export async function runSimulation(o: SimOptions): Promise<SimResult> {
  const sched = new SimScheduler(o.seed, Math.max(400, o.traceLines ?? 0));
  const log = new SimLog();
  const coordinator = new SimCoordinator(sched, sched.clockFor('coordinator'), log.logger, 3000);
  const net = new SimNetwork(sched, o.maxDelayMs, (link) => coordinator.accept(link));
  const slots = o.hosts * o.workersPerHost * o.slotsPerWorker;
  const store = new SimStore(sched, [INO]);
  const hosts = Array.from({ length: o.hosts }, (_, i) => new SimHost(`h${i}`, sched.clockFor(`h${i}`), log.logger, store));
  const layout = { hosts: o.hosts, workersPerHost: o.workersPerHost, stride: o.slotStride ?? SLOT_BYTES };
  const fileBytes = slotOffset(slots - 1, layout) + SLOT_BYTES;
  const history = new SimHistory(layout, slots, sched);
  const faults: Record<string, number> = {};
  const paused = new Set<string>();
  const pausedEver: Record<string, boolean> = {};
  const branching: number[] = [];
  let steps = 0;
  const maxSteps = o.maxSteps ?? 200_000;
  /** Explore mode starts once the sessions are open: the interleavings of the workload are what matter. */
  const startChoosing = (): void => {
    if (!o.chooser) return;
    const choose = o.chooser;
    sched.chooser = (c) => { branching.push(c.length); return choose(c); };
  };

  let debugAtMs = process.env.SIM_DEBUG_AT_MS ? Number(process.env.SIM_DEBUG_AT_MS) : undefined;
  const dumpHosts = (): void => {
    for (const h of hosts) {
      const tokens = h.core.tokens.tokensOf(RESOURCE, 'data').concat(h.core.tokens.tokensOf(RESOURCE, 'attr'));
      console.log(`${h.name} @${sched.nowMs.toFixed(1)}`, JSON.stringify(tokens.map((t) => ({ id: t.lockId, space: t.space, mode: t.mode, r: [t.range.start, t.range.end], v: t.version, inUse: t.inUse, blocked: t.blocked }))),
        'held', JSON.stringify(h.client.heldGrants().map((g) => [g.lockId, g.mode, g.range.start, g.range.end, g.version])),
        'pending', JSON.stringify([...((h.client as unknown as { channel: { pending: { byId: Map<number, { message: object }> } } }).channel.pending.byId.values())].map((p) => p.message)));
    }
  };
  const drive = async (until: () => boolean, what: string): Promise<void> => {
    while (!until()) {
      if (steps++ >= maxSteps) throw new Violation(`no progress: ${what} after ${maxSteps} steps`);
      if (!(await sched.step())) throw new Violation(`stuck: ${what}, nothing left to run`);
      checkBeliefs();
      o.onStep?.(stateKey);
      if (debugAtMs !== undefined && sched.nowMs >= debugAtMs) { debugAtMs = undefined; dumpHosts(); }
    }
  };

  /** The protocol state: the coordinator's grants and waiters, and what each host believes and has dirty. */
  const stateKey = (): string => JSON.stringify([
    coordinator.table.dump().grants.map((g) => [g.lockId, g.holder.sessionId, g.mode, g.range.start, g.range.end, g.version]),
    coordinator.table.dump().waiters.map((w) => [w.requestId, w.mode, w.range.start, w.range.end]),
    hosts.filter((h) => h.hook).map((h) => [beliefsOfTokens(h.name, h.core.tokens.tokensOf(RESOURCE, 'data')).map((b) => [b.lockId, b.mode, b.start, b.end]), h.core.pages.dirtyBytes]),
  ]);

  const checkBeliefs = (): void => {
    // Past its deadline a host trusts nothing (it fences itself the moment it looks). Reading the deadline,
    // not calling isFenced(), keeps the check free of side effects: a paused host must not run.
    const live = hosts.filter((h) => h.client && sched.nowMs < h.client.leaseDeadlineMs());
    const tokens = live.flatMap((h) => beliefsOfTokens(h.name, h.core.tokens.tokensOf(RESOURCE, 'data').concat(h.core.tokens.tokensOf(RESOURCE, 'attr'))));
    const bad = conflictingBeliefs(tokens) ?? conflictingBeliefs(live.flatMap((h) => beliefsOfGrants(h.name, h.client.heldGrants())));
    if (bad) throw new Violation(`two hosts believe conflicting tokens: ${bad}`);
    const cacher = o.kernelCachingHost ? live.find((h) => h.name === 'h0') : undefined;
    const directThere = cacher && kernelCachedUnderDirect(cacher.name, cacher.core.tokens.tokensOf(RESOURCE, 'data').concat(cacher.core.tokens.tokensOf(RESOURCE, 'attr')));
    if (directThere) throw new Violation(directThere);
    for (const h of live) {
      const data = h.core.tokens.tokensOf(RESOURCE, 'data').filter((t) => t.alive);
      const onlyDirect = data.length > 0 && data.every((t) => t.mode === 'DIRECT');
      const file = h.core.pages.file(RESOURCE);
      const clean = file ? [...file.pages.values()].filter((p) => !p.dirty).length : 0;
      const cached = cachedUnderDirect(h.name, onlyDirect, clean);
      if (cached) throw new Violation(`a page cached under DIRECT: ${cached}`);
    }
    if (coordinator.leader.recovery.isOpen()) return;
    for (const h of live) {
      const session = coordinator.sessions.get(h.client.sessionId);
      if (!session || session.restored) continue;
      const outside = beliefOutsideTable(beliefsOfTokens(h.name, h.core.tokens.tokensOf(RESOURCE, 'data')), () => h.client.sessionId, coordinator.table);
      if (outside) throw new Violation(outside);
    }
  };

  const undoTableMutation = applyTableMutation(o.mutation);
  try {
    for (const [hi, h] of hosts.entries()) {
      let up = false;
      void h.start(net).then(() => { up = true; });
      await drive(() => up, `${h.name} opening its session`);
      h.client.on('fenced', () => history.sessionLost(hi));
      // The page-cache open of the FUSE layer (kernel-page-cache.ts), made before any token of the file.
      if (o.kernelCachingHost && hi === 0) h.core.kernel.pages.opened(RESOURCE, INO);
    }
    // A paused holder learns of its loss only when it wakes; its unflushed writes are gone from the moment
    // the coordinator ended its session.
    coordinator.sessions.on('ended', (session: { clientName: string }, reason: string) => {
      const hi = hosts.findIndex((h) => h.name === session.clientName);
      if (hi >= 0 && reason !== 'SESSION_CLOSED') history.sessionLost(hi);
    });
    applyMutation(o.mutation, hosts);
    startChoosing();
    if (o.faults) scheduleFaults();
    const workers = hosts.flatMap((h, hi) => Array.from({ length: o.workersPerHost }, (_, wi) => runWorker(h, hi, wi)));
    let done = 0;
    for (const w of workers) void w.finally(() => { done++; });
    await drive(() => done === workers.length, 'workload');
    for (const name of paused) sched.resume(name);
    // Quiesce: every host fsyncs what it wrote; nothing may be lost without an error.
    let synced = 0;
    for (const [hi, h] of hosts.entries()) void history.finalSync(h, hi).finally(() => { synced++; });
    await drive(() => synced === hosts.length, 'final fsync');
    const lost = history.lostWithoutError(store.content(INO));
    if (lost) throw new Violation(lost);
    const unexpected = history.unexpectedErrors(new Set(Object.keys(pausedEver)));
    if (unexpected) throw new Violation(unexpected);
    const evictedResponsive = coordinator.sessions.evicted.filter((e) => !pausedEver[e.clientName]);
    if (evictedResponsive.length > 0) throw new Violation(`responsive host evicted: ${JSON.stringify(evictedResponsive)}`);
    const logged = log.violations();
    if (logged.length > 0) throw new Violation(`the code logged a broken invariant: ${logged[0]}`);
    return result();
  } catch (e) {
    if (!(e instanceof Violation)) throw e;
    // SIM_LOG=1: the warnings and errors the code logged, to read a violation by.
    if (process.env.SIM_LOG) for (const r of log.records) console.log('log', r.level, r.message, JSON.stringify(r.meta));
    return { ...result(), violation: e.message };
  } finally {
    undoTableMutation();
  }

  function result(): SimResult {
    const directOps = hosts.reduce((n, h) => n + (typeof h.hook === 'function' ? Object.values(h.core.direct.counts).reduce((a, b) => a + b, 0) : 0), 0);
    return { seed: o.seed, steps, simMs: sched.nowMs, faults, ops: history.ops, errors: history.errors, trace: sched.trace.slice(-(o.traceLines ?? 60)), branching, directOps };
  }

  async function runWorker(h: SimHost, hi: number, wi: number): Promise<void> {
    const fh = h.open(INO);
    const rng = sched.rng;
    await history.read(h, hi, fh, 0, fileBytes); // read it whole first: everyone holds READ when writing starts
    const own = slotsOf(hi, wi, o.slotsPerWorker, layout);
    const think = (ms: number) => new Promise<void>((resolve) => h.clock.setTimer(ms, resolve));
    for (let i = 0; i < o.opsPerWorker; i++) {
      if (o.thinkMs) await think(rng.next() * o.thinkMs);
      const r = rng.next();
      if (r < 0.55) await history.write(h, hi, fh, rng.pick(own));
      else if (r < 0.85) {
        const first = rng.int(0, slots - 1);
        await history.read(h, hi, fh, slotOffset(first, layout), rng.int(0, 2) * layout.stride + SLOT_BYTES);
      } else await history.fsync(h, hi, fh);
    }
  }

  function scheduleFaults(): void {
    const kinds = o.faultKinds ?? ['break', 'failover', 'pause'];
    const count = sched.rng.int(1, o.maxFaults ?? 4);
    for (let i = 0; i < count; i++) {
      const kind = sched.rng.pick(kinds);
      const atMs = 5 + sched.rng.next() * 400;
      sched.schedule(atMs, 'chaos', `fault ${kind}`, () => inject(kind));
    }
  }

  function inject(kind: string): void {
    faults[kind] = (faults[kind] ?? 0) + 1;
    if (kind === 'break') net.breakLinksOf(sched.rng.pick(hosts).name, 'simulated connection loss');
    else if (kind === 'failover') coordinator.failover();
    else if (kind === 'isolate') {
      const h = sched.rng.pick(hosts);
      pausedEver[h.name] = true; // cut off: its eviction and its errors are expected
      net.isolate(h.name, TTL_MS * (0.5 + sched.rng.next()));
    }
    else {
      const free = hosts.filter((h) => !paused.has(h.name));
      if (paused.size + 1 >= hosts.length || free.length === 0) return;
      const h = sched.rng.pick(free);
      paused.add(h.name);
      pausedEver[h.name] = true;
      sched.pause(h.name);
      sched.schedule(TTL_MS + 500 + sched.rng.next() * 1000, 'chaos', `resume ${h.name}`, () => { paused.delete(h.name); sched.resume(h.name); });
    }
  }
}

