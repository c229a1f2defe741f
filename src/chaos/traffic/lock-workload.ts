import { CoherdClient } from '../../agent/client/coherd-client';
import { isCoherdError } from '../../common/errors';
import { FencingStore } from '../../../test/support/fencing-store';
import { Operation } from '../history/operation';
import { Workload, WorkloadContext, sleep } from './workload';

const RESOURCES = ['lock-0', 'lock-1'];

/**
 * Fencing-guarded lock holders (Jepsen's lock workloads): each lock host
 * takes an exclusive lock on one of a few resources through the client
 * library, writes to a fencing-aware store with its token while it holds
 * it (never after its own lease deadline), holds a while and releases.
 * It records when it was told it lost the lock (fenced, evicted).
 */
export class LockWorkload implements Workload {
  readonly name = 'locks';
  private readonly stores = new Map<string, FencingStore>();

  /**
   * ignoreLease plants a bug in these holders (to see the checkers fail end
   * to end): they hold each lock for 2×TTL writing every 200 ms, never look
   * at their lease deadline and ignore being told they lost the lock.
   */
  constructor(private readonly ignoreLease = false) {}

  async run(ctx: WorkloadContext): Promise<void> {
    for (const r of RESOURCES) {
      const s = new FencingStore();
      await s.start();
      this.stores.set(r, s);
    }
    try {
      await Promise.all(ctx.cluster.lockLinks.map((link, i) => this.loop(ctx, i, link.endpoints)));
    } finally {
      for (const s of this.stores.values()) await s.stop();
    }
  }

  private async loop(ctx: WorkloadContext, index: number, endpoints: string[]): Promise<void> {
    const host = `lock-${index}`;
    const process = `${host}/holder`;
    const rnd = ctx.rnd.fork(process);
    let client: CoherdClient | undefined;
    let toldLostMs: number | undefined;
    for (let n = 0; ctx.running() && n < ctx.maxOpsPerProcess; n++) {
      try {
        if (!client) {
          client = await CoherdClient.connect({ endpoints, clientName: process, ttlMs: ctx.ttlMs, connectTimeoutMs: 5000 });
          const c = client;
          c.on('fenced', (reason: string) => {
            const deadline = ctx.rec.toRunMs(c.leaseDeadlineMs());
            toldLostMs ??= reason === 'LEASE_DEADLINE_PASSED' ? Math.min(deadline, ctx.rec.now()) : ctx.rec.now();
          });
        }
      } catch {
        await sleep(200);
        continue;
      }
      toldLostMs = undefined;
      const key = rnd.pick(RESOURCES);
      const lock = ctx.rec.invoke({ process, host, type: 'lock', key });
      let grant;
      try {
        grant = await client.acquire({ resource: key, space: 'range', mode: 'EXCLUSIVE', timeoutMs: 4000 });
      } catch (e) {
        if (isCoherdError(e) && e.reason === 'TIMEOUT') ctx.rec.complete(lock, 'fail', { error: e.reason });
        else ctx.rec.ambiguous(lock, isCoherdError(e) ? e.reason : (e as Error).message);
        if (client.isFenced()) client = await closeQuietly(client);
        await sleep(rnd.int(50, 200));
        continue;
      }
      const token = { epoch: grant.fencingToken.epoch, counter: grant.fencingToken.counter };
      ctx.rec.complete(lock, 'ok', { fencingToken: token });
      if (this.ignoreLease) {
        for (const until = ctx.rec.now() + 2 * ctx.ttlMs; ctx.rec.now() < until;) {
          await this.storeWrite(ctx, client, lock, process, host);
          await sleep(200);
        }
        toldLostMs = undefined;
      }
      const writes = this.ignoreLease ? 0 : rnd.int(1, 3);
      for (let w = 0; w < writes && toldLostMs === undefined; w++) {
        await this.storeWrite(ctx, client, lock, process, host);
        await sleep(rnd.int(20, 120));
      }
      const unlock = ctx.rec.invoke({ process, host, type: 'unlock', key, lockOp: lock.id });
      if (client.isFenced() && toldLostMs === undefined && !this.ignoreLease) toldLostMs = Math.min(ctx.rec.toRunMs(client.leaseDeadlineMs()), unlock.invokeMs);
      try {
        await client.release(grant.lockId);
        ctx.rec.complete(unlock, 'ok', { toldLostMs });
      } catch (e) {
        ctx.rec.complete(unlock, 'info', { toldLostMs, error: isCoherdError(e) ? e.reason : (e as Error).message });
      }
      if (client.isFenced()) client = await closeQuietly(client);
      await sleep(rnd.int(10, 100));
    }
    if (client) await closeQuietly(client);
  }

  private async storeWrite(ctx: WorkloadContext, client: CoherdClient, lock: Operation, process: string, host: string): Promise<void> {
    const deadline = ctx.rec.toRunMs(client.leaseDeadlineMs());
    const op = ctx.rec.invoke({ process, host, type: 'store-write', key: lock.key, fencingToken: lock.fencingToken, leaseDeadlineMs: deadline });
    if (!this.ignoreLease && (client.isFenced() || op.invokeMs >= deadline)) {
      ctx.rec.complete(op, 'fail', { error: 'not sent: lease deadline passed' });
      return;
    }
    const t = lock.fencingToken!;
    const url = `${this.stores.get(lock.key)!.url}?who=op-${op.id}&token=${t.epoch}.${t.counter}`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      await res.text();
      if (res.status === 200) ctx.rec.complete(op, 'ok');
      else ctx.rec.complete(op, 'fail', { error: `store refused (${res.status})` });
    } catch (e) {
      ctx.rec.ambiguous(op, (e as Error).name);
    }
  }

  /** Adds what the stores saw (accepted or not, and when) to the store-write ops. */
  async finish(ctx: WorkloadContext): Promise<void> {
    const byId = new Map(ctx.rec.ops.map((o) => [o.id, o]));
    for (const store of this.stores.values()) {
      for (const w of store.writes) {
        const op = byId.get(Number(w.who.replace('op-', '')));
        if (op) Object.assign(op, { accepted: w.accepted, appliedMs: ctx.rec.toRunMs(w.atMs) });
      }
    }
  }
}

async function closeQuietly(c: CoherdClient): Promise<undefined> {
  await Promise.race([c.close().catch(() => undefined), sleep(3000)]);
  return undefined;
}
