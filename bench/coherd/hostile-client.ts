import { randomBytes } from 'node:crypto';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import { silentLogger } from '../../src/common/logger';

/**
 * The hostile side of P9, run as its own process (`node hostile-client.js
 * <endpoint> <plan JSON>`) so its own event loop never slows the
 * well-behaved client the benchmark times. One line of JSON per step on
 * stdout; exits 0 when every phase ended as planned.
 *
 * A holder session takes an EXCLUSIVE range lock on three resources; then
 *   1. one session queues `timeoutWaiters` requests for the first, each
 *      from its own owner, all with the same timeout (they time out together);
 *   2. the same session queues `sameHolderWaiters` requests of one holder
 *      (owner '') for the second, without timeout (a deadlock check each);
 *   3. a second session queues `endingWaiters` requests for the third and
 *      closes, so the coordinator frees a session with that many waiters;
 *      then the first session closes too.
 */
export interface HostilePlan {
  timeoutWaiters: number;
  timeoutMs: number;
  sameHolderWaiters: number;
  endingWaiters: number;
}

const RANGE = { start: 0, end: 100 };

function say(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, atMs: performance.now(), ...fields })}\n`);
}

/** Sends n waiting acquires; resolves once all are queued, with a promise of how each one ended. */
async function queueWaiters(client: CoherdClient, resource: string, n: number, owner: (i: number) => string, timeoutMs?: number) {
  let queued = 0;
  let allQueued: () => void = () => undefined;
  const queuedPromise = new Promise<void>((r) => { allQueued = r; });
  const outcomes = new Map<string, number>();
  const endings: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const onQueued = () => { if (++queued === n) allQueued(); };
    endings.push(client.acquire({ resource, space: 'range', mode: 'EXCLUSIVE', range: RANGE, owner: owner(i), wait: true, timeoutMs, onQueued }).then(
      () => { outcomes.set('GRANTED', (outcomes.get('GRANTED') ?? 0) + 1); },
      (e: { reason?: string }) => {
        const reason = e.reason ?? 'ERROR';
        if (reason !== 'TIMEOUT' && reason !== 'SESSION_EVICTED' && !outcomes.has(reason)) say('unexpected', { reason, message: (e as Error).message });
        outcomes.set(reason, (outcomes.get(reason) ?? 0) + 1);
        if (queued < n && reason !== 'TIMEOUT') allQueued(); // refused before queueing: do not wait for it
      },
    ));
  }
  await queuedPromise;
  return { queued, ended: Promise.all(endings).then(() => Object.fromEntries(outcomes)) };
}

async function main(): Promise<void> {
  const [endpoint, planJson] = process.argv.slice(2);
  const plan = JSON.parse(planJson) as HostilePlan;
  const tag = `bench/p9/${randomBytes(4).toString('hex')}`;
  const logger = silentLogger();
  const holder = await CoherdClient.connect({ endpoints: [endpoint], clientName: 'p9-holder', logger });
  for (const r of ['timeouts', 'same-holder', 'ending']) {
    await holder.acquire({ resource: `${tag}/${r}`, space: 'range', mode: 'EXCLUSIVE', range: RANGE, wait: false });
  }
  const hostile = await CoherdClient.connect({ endpoints: [endpoint], clientName: 'p9-hostile', logger });
  say('ready');

  say('timeouts-start', { waiters: plan.timeoutWaiters });
  const a = await queueWaiters(hostile, `${tag}/timeouts`, plan.timeoutWaiters, (i) => `o${i}`, plan.timeoutMs);
  say('timeouts-queued', { queued: a.queued });
  say('timeouts-ended', { outcomes: await a.ended });

  say('same-holder-start', { waiters: plan.sameHolderWaiters });
  const b = await queueWaiters(hostile, `${tag}/same-holder`, plan.sameHolderWaiters, () => '');
  say('same-holder-queued', { queued: b.queued });

  const ending = await CoherdClient.connect({ endpoints: [endpoint], clientName: 'p9-ending', logger });
  say('ending-start', { waiters: plan.endingWaiters });
  const c = await queueWaiters(ending, `${tag}/ending`, plan.endingWaiters, () => '');
  say('ending-queued', { queued: c.queued });
  await ending.close();
  say('ending-closed', { outcomes: await c.ended });
  await hostile.close();
  say('same-holder-closed', { outcomes: await b.ended });
  await holder.close();
  say('done');
}

main().then(
  () => process.exit(0),
  (e) => {
    say('failed', { message: (e as Error).message });
    process.exit(1);
  },
);
