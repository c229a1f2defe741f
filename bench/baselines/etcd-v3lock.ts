import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { Etcd3, Lease } from 'etcd3';
import type { HeldLock, LockClient, LockSystem, LockSystemSpec } from '../lock-system';
import { benchSourceDir } from '../paths';
import type { BenchContext } from '../types';

/**
 * Baseline: etcd's own Lock service (server/etcdserver/api/v3lock), called
 * over raw gRPC. Lock blocks on the server until the caller holds the lock
 * (a concurrency.Mutex owned by the caller's lease); Unlock deletes the key.
 * Each contender has its own gRPC connection and its own lease, like a
 * session; leases are granted and revoked with the etcd3 client.
 */

/** Long enough to outlive any measurement; revoked on close. */
const LEASE_TTL_S = 60;
/** Per-RPC deadline; a Lock that waits longer than this fails the measurement. */
const CALL_DEADLINE_MS = 60_000;

interface LockResponse {
  key: Buffer;
}

interface V3LockStub extends grpc.Client {
  Lock(req: { name: Buffer; lease: string }, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: LockResponse) => void): void;
  Unlock(req: { key: Buffer }, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void): void;
}

let stubConstructor: grpc.ServiceClientConstructor | undefined;

function lockServiceClient(): grpc.ServiceClientConstructor {
  if (!stubConstructor) {
    const def = protoLoader.loadSync(path.join(benchSourceDir(), 'protos', 'v3lock.proto'), {
      keepCase: true,
      longs: String,
      defaults: true,
    });
    const root = grpc.loadPackageDefinition(def) as unknown as { v3lockpb: { Lock: grpc.ServiceClientConstructor } };
    stubConstructor = root.v3lockpb.Lock;
  }
  return stubConstructor;
}

function deadline(): grpc.CallOptions {
  return { deadline: Date.now() + CALL_DEADLINE_MS };
}

/** 'http://127.0.0.1:2379' → '127.0.0.1:2379'. */
function grpcTarget(endpoint: string): string {
  return new URL(endpoint).host;
}

class V3LockClient implements LockClient {
  constructor(
    private readonly stub: V3LockStub,
    private readonly lease: Lease,
    private readonly leaseId: string,
  ) {}

  acquire(key: string): Promise<HeldLock> {
    return new Promise((resolve, reject) => {
      this.stub.Lock({ name: Buffer.from(key), lease: this.leaseId }, deadline(), (err, res) => {
        if (err || !res) return reject(err ?? new Error('empty LockResponse'));
        const ownerKey = res.key;
        resolve({ release: () => this.unlock(ownerKey) });
      });
    });
  }

  private unlock(key: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stub.Unlock({ key }, deadline(), (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {
    this.stub.close();
    await this.lease.revoke().catch(() => {});
  }
}

class V3LockSystem implements LockSystem {
  private readonly leases: Etcd3;

  constructor(private readonly endpoint: string) {
    this.leases = new Etcd3({ hosts: endpoint });
  }

  async connect(): Promise<LockClient> {
    const lease = this.leases.lease(LEASE_TTL_S, { autoKeepAlive: false });
    const leaseId = await lease.grant();
    const Stub = lockServiceClient();
    // A local subchannel pool gives every contender its own HTTP/2 connection.
    const stub = new Stub(grpcTarget(this.endpoint), grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    }) as unknown as V3LockStub;
    return new V3LockClient(stub, lease, leaseId);
  }

  async close(): Promise<void> {
    this.leases.close();
  }
}

export const etcdV3LockSpec: LockSystemSpec = {
  name: 'etcd-v3lock',
  role: 'baseline',
  create: async (ctx: BenchContext) => new V3LockSystem(ctx.etcdEndpoint),
};
