import { randomBytes } from 'node:crypto';
import { AdminClient } from '../../src/agent/client/admin-client';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import type { AcquireOptions } from '../../src/agent/client/types';
import { percentile } from '../stats';
import { nowMs, sleep, throwIfAborted, withTimeout } from '../timing';
import type { BenchCase, BenchContext, Metrics } from '../types';
import { rssMiB, startCoordinatorProcess } from './cli-process';
import { forEachLimited } from './limited';

const BLOCK = 4096;
/** Sessions opened (and closed) at once. */
const CONNECT_CONCURRENCY = 50;
const PROBE_WARMUP = 100;
/** Before probing, let the load settle: more than one heartbeat round of every session (TTL/4 = 2.5 s). */
const SETTLE_MS = 3000;

/**
 * Where the tokens go:
 * - 'per-session-files' (default): session i's token k is a READ token on
 *   [0, 4 KiB) of a file of its own — 1,000,000 resources, one entry each
 *   (hosts each caching their own files: the most resource states);
 * - 'shared-files': session i's token k is a READ token on
 *   [i × 4 KiB, (i+1) × 4 KiB) of file k — 1,000 resources with 1,000
 *   holders on distinct ranges each (every host reading the same files).
 * COHERD_BENCH_P8_LAYOUT picks one.
 */
export type ScaleLayout = 'per-session-files' | 'shared-files';

function layoutFromEnv(): ScaleLayout {
  const v = process.env.COHERD_BENCH_P8_LAYOUT ?? 'per-session-files';
  if (v !== 'per-session-files' && v !== 'shared-files') throw new RangeError(`COHERD_BENCH_P8_LAYOUT must be per-session-files or shared-files, got ${v}`);
  return v;
}

/** Resources are keyed `<namespace>/<ino>` like the agent's (DESIGN §2); inode numbers start at FIRST_INO. */
const FIRST_INO = 1_000_000;

function tokenRequest(layout: ScaleLayout, namespace: string, perSession: number, session: number, k: number): AcquireOptions {
  if (layout === 'per-session-files') {
    return { resource: `${namespace}/${FIRST_INO + session * perSession + k}`, space: 'data', mode: 'READ', range: { start: 0, end: BLOCK } };
  }
  return { resource: `${namespace}/${FIRST_INO + k}`, space: 'data', mode: 'READ', range: { start: session * BLOCK, end: (session + 1) * BLOCK } };
}

/**
 * Grant latency of the probe: data WRITE token on a fresh file, acquire
 * call → grant, release awaited untimed; after SETTLE_MS and PROBE_WARMUP
 * unmeasured grants, so neither load is measured while it is still settling.
 */
async function probeGrantP99(ctx: BenchContext, probe: CoherdClient, tag: string, samples: number): Promise<{ p50Ms: number; p99Ms: number }> {
  await sleep(SETTLE_MS, ctx.signal);
  const latenciesMs: number[] = [];
  for (let i = 0; i < PROBE_WARMUP + samples; i++) {
    throwIfAborted(ctx.signal);
    const t0 = nowMs();
    const g = await probe.acquire({ resource: `${tag}/${i}`, space: 'data', mode: 'WRITE', range: { start: 0, end: BLOCK } });
    const elapsed = nowMs() - t0;
    if (i >= PROBE_WARMUP) latenciesMs.push(elapsed);
    await probe.release(g.lockId);
  }
  return { p50Ms: percentile(latenciesMs, 50), p99Ms: percentile(latenciesMs, 99) };
}

async function grantsAt(address: string): Promise<number> {
  return Number((await new AdminClient([address]).status()).grants);
}

/**
 * P8: profile.scaleSessions sessions holding scaleSessions ×
 * scaleTokensPerSession data READ tokens. The coordinator is its own
 * process (its VmRSS is read from /proc); the sessions are CoherdClients in
 * this process (they share one HTTP/2 connection: grpc-js pools channels
 * with the same target and options, and the client sets no local pool),
 * each with its own session stream, lease and heartbeats.
 * First every session takes one token (scaleSessions tokens, the "1,000
 * tokens" load): RSS and the probe's grant p50/p99. Then every session
 * takes the rest of its tokens, all sessions at once, one request in
 * flight per session; the coordinator's grant count is checked, then RSS
 * and the probe again. grantP99RatioTo1k = p99 at full load ÷ p99 at the
 * first load, within this run.
 */
export async function measureScale(ctx: BenchContext): Promise<Metrics> {
  const { scaleSessions: sessions, scaleTokensPerSession: perSession, scaleProbeGrants: samples } = ctx.profile;
  const layout = layoutFromEnv();
  const tag = randomBytes(4).toString('hex');
  const namespace = `p8-${tag}`;
  const coordinator = await startCoordinatorProcess({
    etcdEndpoints: [ctx.etcdEndpoint], cleanup: ctx.cleanup,
  });
  const clients: CoherdClient[] = [];
  const closeClients = ctx.cleanup.add({
    name: 'P8 clients',
    run: () => forEachLimited(clients, CONNECT_CONCURRENCY, (c) => c.close().catch(() => undefined)),
  });
  try {
    const endpoints = [coordinator.address];
    const probe = await CoherdClient.connect({ endpoints, clientName: 'p8-probe', logger: ctx.logger });
    clients.push(probe);
    const started = nowMs();
    await forEachLimited([...Array(sessions).keys()], CONNECT_CONCURRENCY, async (i) => {
      clients.push(await CoherdClient.connect({ endpoints, clientName: `p8-${i}`, logger: ctx.logger, connectTimeoutMs: 30_000 }));
    });
    const sessionClients = clients.slice(1);
    const connectMs = nowMs() - started;
    // A session that loses its lease mid-load fails the run; say which, when and why.
    const fences: string[] = [];
    for (const c of clients) c.on('fenced', (reason: string) => fences.push(`${c.sessionId} ${reason} at ${((nowMs() - started) / 1000).toFixed(1)} s`));
    const failIfFenced = () => {
      if (fences.length) throw new Error(`${fences.length} session(s) lost their lease during the run (heartbeats not acknowledged in time), first: ${fences[0]}`);
    };

    await forEachLimited(sessionClients, sessionClients.length, async (c, i) => void (await c.acquire(tokenRequest(layout, namespace, perSession, i, 0))));
    const smallGrants = await grantsAt(coordinator.address);
    if (smallGrants !== sessions) throw new Error(`coordinator holds ${smallGrants} grants, expected ${sessions}`);
    const rss1kMiB = rssMiB(coordinator.pid);
    const small = await probeGrantP99(ctx, probe, `${namespace}-probe-small`, samples);

    ctx.progress(`  P8: ${sessions} sessions each taking ${perSession - 1} more tokens`);
    const loadStart = nowMs();
    let loaded = 0;
    const report = setInterval(() => ctx.progress(`  P8: ${loaded} tokens loaded, ${Math.round((loaded * 1000) / (nowMs() - loadStart))}/s`), 30_000);
    const load = forEachLimited(sessionClients, sessionClients.length, async (c, i) => {
      for (let k = 1; k < perSession; k++) {
        if (ctx.signal.aborted || fences.length) return;
        await c.acquire(tokenRequest(layout, namespace, perSession, i, k));
        loaded++;
      }
    });
    try {
      await withTimeout(load, ctx.profile.scaleLoadMaxMs, `P8 loading ${sessions * perSession} tokens`, ctx.signal);
    } catch (e) {
      failIfFenced();
      throw e;
    } finally {
      clearInterval(report);
    }
    const loadMs = nowMs() - loadStart;
    throwIfAborted(ctx.signal);
    failIfFenced();
    const fullGrants = await grantsAt(coordinator.address);
    if (fullGrants !== sessions * perSession) throw new Error(`coordinator holds ${fullGrants} grants, expected ${sessions * perSession}`);
    const rssLoadedMiB = rssMiB(coordinator.pid);
    const full = await probeGrantP99(ctx, probe, `${namespace}-probe-full`, samples);
    const rssAfterProbeMiB = rssMiB(coordinator.pid);
    failIfFenced();
    return {
      rssMiB: Math.max(rssLoadedMiB, rssAfterProbeMiB),
      rss1kMiB,
      grantP50Ms: full.p50Ms,
      grantP99Ms: full.p99Ms,
      grantP50At1kMs: small.p50Ms,
      grantP99At1kMs: small.p99Ms,
      grantP99RatioTo1k: full.p99Ms / small.p99Ms,
      tokens: fullGrants,
      sessions,
      loadGrantsPerSec: ((sessions * (perSession - 1)) * 1000) / loadMs,
      connectSessionsPerSec: (sessions * 1000) / connectMs,
    };
  } finally {
    await closeClients();
    await coordinator.stop();
  }
}

export function scaleCase(): BenchCase {
  return {
    id: 'P8',
    title: '1,000 sessions holding 1,000,000 tokens: coordinator RSS, grant p99 vs at 1,000 tokens',
    subjects: [{ name: 'coherd', role: 'coherd', measure: measureScale }],
  };
}
