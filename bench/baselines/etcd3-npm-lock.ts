import { Etcd3, EtcdLockFailedError } from 'etcd3';
import type { HeldLock, LockClient, LockSystem, LockSystemSpec } from '../lock-system';
import { sleep } from '../timing';
import type { BenchContext } from '../types';

/**
 * Baseline: the etcd3 npm package's `Lock` (`client.lock(name).acquire()`),
 * as an application would use it. Each acquire grants a lease and puts the
 * key under it if absent (a try-lock: it throws EtcdLockFailedError when
 * the key exists); release revokes the lease. Under contention the caller
 * must retry; this adapter uses exponential backoff with full jitter, the
 * usual policy for a contended try-lock. Every failed try costs etcd a
 * lease grant, a transaction and a lease revoke, so retrying at once
 * (measured: ~100 hand-offs/s) slows the holder down more than backing off.
 * Each contender is its own Etcd3 client on its own connection.
 */

/** Lease TTL of each lock, seconds (the library's default is 30). */
const LOCK_TTL_S = 30;
/** Retry n (0-based) pauses uniformly in [0, min(RETRY_CAP_MS, RETRY_BASE_MS · 2^n)) ms. */
export const RETRY_BASE_MS = 1;
export const RETRY_CAP_MS = 32;

export function retryPauseMs(attempt: number, random: () => number = Math.random): number {
  return random() * Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt);
}

class NpmLockClient implements LockClient {
  private closed = false;

  constructor(private readonly client: Etcd3) {}

  async acquire(key: string): Promise<HeldLock> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new Error('etcd3 lock client closed');
      const lock = this.client.lock(key).ttl(LOCK_TTL_S);
      try {
        await lock.acquire();
        return { release: () => lock.release() };
      } catch (e) {
        if (!(e instanceof EtcdLockFailedError)) throw e;
      }
      await sleep(retryPauseMs(attempt));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.close();
  }
}

class NpmLockSystem implements LockSystem {
  constructor(private readonly endpoint: string) {}

  async connect(): Promise<LockClient> {
    // A local subchannel pool keeps grpc-js from sharing one connection between clients.
    return new NpmLockClient(new Etcd3({ hosts: this.endpoint, grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } }));
  }

  async close(): Promise<void> {}
}

export const etcd3NpmLockSpec: LockSystemSpec = {
  name: 'etcd3-npm-lock',
  role: 'baseline',
  create: async (ctx: BenchContext) => new NpmLockSystem(ctx.etcdEndpoint),
};
