import { randomBytes } from 'node:crypto';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import type { TokenRequest } from '../../src/agent/coherency/held-token';
import { TokenCache } from '../../src/agent/coherency/token-cache';
import { startCoordinator } from '../../src/coordinator/coordinator';
import { perSecond } from '../stats';
import { freshPrefix } from './cli-process';
import { nowMs, throwIfAborted } from '../timing';
import type { BenchCase, BenchContext, Metrics } from '../types';

/** Resources the cache holds a token on, and 4 KiB ranges looked up in each. */
const RESOURCES = 64;
const RANGES_PER_RESOURCE = 16;
const BLOCK = 4096;
/** Hits per synchronous chunk; between chunks the event loop runs (heartbeats), untimed. */
const CHUNK = 50_000;

/**
 * Runs `hit` over the requests in chunks until `maxOps` hits or `maxMs` of
 * measured time; returns hits per second of measured time. Only the chunks
 * are timed: the pauses between them let the client's timers run.
 */
async function rate(ctx: BenchContext, reqs: TokenRequest[], hit: (req: TokenRequest) => void | Promise<void>): Promise<number> {
  const { tokenHitOps: maxOps, tokenHitMaxMs: maxMs } = ctx.profile;
  let ops = 0;
  let elapsedMs = 0;
  while (ops < maxOps && elapsedMs < maxMs) {
    throwIfAborted(ctx.signal);
    const t0 = nowMs();
    for (let i = 0; i < CHUNK; i++) {
      const r = hit(reqs[(ops + i) % reqs.length]);
      if (r !== undefined) await r;
    }
    elapsedMs += nowMs() - t0;
    ops += CHUNK;
    await new Promise((r) => setImmediate(r));
  }
  return perSecond(ops, elapsedMs);
}

/**
 * P4: re-acquire of a token already held, no network. A TokenCache over a
 * real CoherdClient and coordinator takes data READ tokens on RESOURCES
 * resources (one acquire each, through the network), then the measured
 * loop asks again and again for 4 KiB ranges those tokens cover, cycling
 * over RESOURCES × RANGES_PER_RESOURCE requests:
 *   - opsPerSec: what a vop pays on a hit (data-writes.ts): `await cache.use(req)`
 *     then `use.done()` — the target figure;
 *   - tryUseOpsPerSec: the synchronous claim `cache.tryUse(req)` + `done()`;
 *   - findOpsPerSec: the lookup alone, `cache.find(req)`.
 * A hit that is not a hit (the request went to the network) fails the run.
 */
export async function measureTokenHits(ctx: BenchContext): Promise<Metrics> {
  const coordinator = await startCoordinator({ etcdEndpoints: [ctx.etcdEndpoint], listen: '127.0.0.1:0', prefix: freshPrefix(), logger: ctx.logger });
  const stopCoordinator = ctx.cleanup.add({ name: 'P4 coordinator', run: () => coordinator.stop() });
  try {
    const client = await CoherdClient.connect({ endpoints: [coordinator.address], clientName: 'p4', logger: ctx.logger });
    const closeClient = ctx.cleanup.add({ name: 'P4 client', run: () => client.close() });
    try {
      const cache = new TokenCache({ client, logger: ctx.logger });
      const suffix = randomBytes(4).toString('hex');
      const reqs: TokenRequest[] = [];
      for (let r = 0; r < RESOURCES; r++) {
        for (let k = 0; k < RANGES_PER_RESOURCE; k++) {
          reqs.push({ resource: `bench/p4/${suffix}/${r}`, space: 'data', mode: 'READ', range: { start: k * BLOCK, end: (k + 1) * BLOCK } });
        }
      }
      // One network acquire per resource: the coordinator grants more than asked (the whole file) when uncontended.
      for (let r = 0; r < RESOURCES; r++) {
        const first = reqs[r * RANGES_PER_RESOURCE];
        (await cache.use({ ...first, range: { start: 0, end: RANGES_PER_RESOURCE * BLOCK } })).done();
      }
      const held = cache.size;
      for (const req of reqs) if (!cache.find(req)) throw new Error(`no held token covers ${req.resource} ${req.range.start}`);

      let misses = 0;
      const findOpsPerSec = await rate(ctx, reqs, (req) => {
        if (cache.find(req) === undefined) misses++;
      });
      const tryUseOpsPerSec = await rate(ctx, reqs, (req) => {
        const use = cache.tryUse(req);
        if (use === undefined) misses++;
        else use.done();
      });
      const opsPerSec = await rate(ctx, reqs, async (req) => {
        (await cache.use(req)).done();
      });
      if (misses > 0 || cache.size !== held) throw new Error(`${misses} lookups missed; tokens held ${cache.size}, expected ${held}`);
      return { opsPerSec, tryUseOpsPerSec, findOpsPerSec, tokensHeld: held };
    } finally {
      await closeClient();
    }
  } finally {
    await stopCoordinator();
  }
}

export function tokenHitCase(): BenchCase {
  return {
    id: 'P4',
    title: 're-acquire of a held token (token-cache hit, no network): ops/s',
    subjects: [{ name: 'coherd', role: 'coherd', measure: measureTokenHits }],
  };
}
