import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { runCli, startCluster, TestCluster } from '../support/cluster';
import { sessionClientConstructor } from '../../src/common/proto';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import { AdminClient } from '../../src/agent/client/admin-client';

let cluster: TestCluster;
let bystander: CoherdClient;
let bystanderLock: number;

before(async () => {
  cluster = await startCluster();
  bystander = await CoherdClient.connect({ endpoints: [cluster.coordinator.address], clientName: 'bystander' });
  bystanderLock = (await bystander.acquire({ resource: 'bystander', space: 'range', mode: 'EXCLUSIVE' })).lockId;
});

after(async () => {
  await bystander?.close();
  await cluster?.stop();
});

/** A raw stream so tests can send what no well-behaved client would. */
class RawStream {
  private readonly client: grpc.Client;
  readonly call: grpc.ClientDuplexStream<object, Record<string, unknown>>;
  private readonly inbox: Array<Record<string, unknown>> = [];
  private waiters: Array<() => void> = [];
  status: Promise<grpc.StatusObject>;

  constructor(address: string) {
    const Ctor = sessionClientConstructor();
    this.client = new Ctor(address, grpc.credentials.createInsecure());
    this.call = (this.client as unknown as { Connect(): grpc.ClientDuplexStream<object, Record<string, unknown>> }).Connect();
    this.call.on('data', (m) => { this.inbox.push(m); this.waiters.splice(0).forEach((w) => w()); });
    this.status = new Promise((r) => { this.call.on('status', r); this.call.on('error', () => undefined); });
  }

  async next(): Promise<Record<string, unknown>> {
    while (this.inbox.length === 0) await new Promise<void>((r) => this.waiters.push(r));
    return this.inbox.shift()!;
  }

  async request(m: object): Promise<Record<string, unknown>> {
    this.call.write(m);
    return this.next();
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

async function openRaw(): Promise<{ raw: RawStream; sessionId: string; secret: string }> {
  const raw = new RawStream(cluster.coordinator.address);
  const opened = await raw.request({ requestId: 1, open: { clientName: 'raw', ttlMs: 5000 } });
  const o = opened.opened as Record<string, string>;
  return { raw, sessionId: o.sessionId, secret: o.resumeSecret };
}

async function assertClusterHealthy(): Promise<void> {
  const status = await new AdminClient([cluster.coordinator.address]).status();
  assert.equal(status.role, 'LEADER');
  const dump = await new AdminClient([cluster.coordinator.address]).dumpLocks('bystander');
  assert.deepEqual((dump.locks as Array<{ lockId: number }>).map((l) => l.lockId), [bystanderLock]);
  assert.equal(bystander.isFenced(), false);
}

const acquire = (range: object, mode = 'EXCLUSIVE', space = 'RANGE_LOCK') => ({ resource: 'bad', space, mode, range, wait: true });

test('malformed, negative and empty ranges and unknown modes get INVALID errors and change nothing', async () => {
  const { raw } = await openRaw();
  try {
    const cases: Array<[object, string]> = [
      [acquire({ start: -1, end: 10 }), 'INVALID_RANGE'],
      [acquire({ start: 10, end: 10 }), 'INVALID_RANGE'],
      [acquire({ start: 20, end: 10 }), 'INVALID_RANGE'],
      [acquire({ start: 0, end: 2 ** 60 }), 'INVALID_RANGE'],
      [acquire({ start: 0, end: 10 }, 'LOCK_MODE_UNSPECIFIED'), 'INVALID_MODE'],
      [acquire({ start: 0, end: 10 }, 'EXCLUSIVE', 'LOCK_SPACE_UNSPECIFIED'), 'INVALID_ARGUMENT'],
      [{ ...acquire({ start: 0, end: 10 }), resource: '' }, 'INVALID_ARGUMENT'],
      [{ ...acquire({ start: 0, end: 10 }), timeoutMs: -5 }, 'INVALID_ARGUMENT'],
    ];
    let id = 2;
    for (const [body, reason] of cases) {
      const reply = await raw.request({ requestId: id++, acquire: body });
      assert.equal(reply.body, 'error', JSON.stringify(body));
      assert.equal((reply.error as Record<string, string>).reason, reason, JSON.stringify(body));
    }
    const ok = await raw.request({ requestId: id++, acquire: acquire({ start: 0, end: 10 }) });
    assert.equal(ok.body, 'granted', 'the stream still works after bad requests');
    await assertClusterHealthy();
  } finally {
    raw.close();
  }
});

test('unknown session ids and another connection\'s session or locks are refused', async () => {
  const unknown = new RawStream(cluster.coordinator.address);
  const r1 = await unknown.request({ requestId: 1, resume: { sessionId: 'feedfacefeedface', resumeSecret: 'x' } });
  assert.equal((r1.error as Record<string, string>).reason, 'SESSION_NOT_FOUND');
  assert.equal((await unknown.status).code, grpc.status.NOT_FOUND);
  unknown.close();

  const stolen = new RawStream(cluster.coordinator.address);
  const r2 = await stolen.request({ requestId: 1, resume: { sessionId: bystander.sessionId, resumeSecret: 'guess' } });
  assert.equal((r2.error as Record<string, string>).reason, 'SESSION_NOT_OWNED');
  stolen.close();

  const { raw } = await openRaw();
  try {
    const r3 = await raw.request({ requestId: 2, release: { lockId: bystanderLock } });
    assert.equal((r3.error as Record<string, string>).reason, 'LOCK_NOT_FOUND');
    const r4 = await raw.request({ requestId: 3, convert: { lockId: bystanderLock, mode: 'SHARED', range: { start: 0, end: 1 } } });
    assert.equal((r4.error as Record<string, string>).reason, 'LOCK_NOT_FOUND');
    const r5 = await raw.request({ requestId: 4, open: { clientName: 'again' } });
    assert.equal((r5.error as Record<string, string>).reason, 'PROTOCOL_VIOLATION');
  } finally {
    raw.close();
  }
  await assertClusterHealthy();
});

test('a first message that is not open or resume ends the stream with INVALID_ARGUMENT', async () => {
  const raw = new RawStream(cluster.coordinator.address);
  const reply = await raw.request({ requestId: 1, acquire: acquire({ start: 0, end: 1 }) });
  assert.equal((reply.error as Record<string, string>).reason, 'PROTOCOL_VIOLATION');
  assert.equal((await raw.status).code, grpc.status.INVALID_ARGUMENT);
  raw.close();
  await assertClusterHealthy();
});

test('oversized messages are refused with RESOURCE_EXHAUSTED', async () => {
  const { raw } = await openRaw();
  raw.call.write({ requestId: 2, acquire: { ...acquire({ start: 0, end: 1 }), resource: 'x'.repeat(200_000) } });
  const status = await raw.status;
  assert.equal(status.code, grpc.status.RESOURCE_EXHAUSTED);
  raw.close();
  await assertClusterHealthy();
});

test('a stream that sends garbage bytes is closed and the coordinator stays up', async () => {
  const session = http2.connect(`http://${cluster.coordinator.address}`);
  const req = session.request({ ':method': 'POST', ':path': '/coherd.v1.Session/Connect', 'content-type': 'application/grpc', te: 'trailers' });
  const trailers = new Promise<http2.IncomingHttpHeaders>((r) => req.on('trailers', r));
  const headers = new Promise<http2.IncomingHttpHeaders>((r) => req.on('response', r));
  req.on('error', () => undefined);
  // A gRPC frame header announcing 16 bytes, followed by bytes that are not a protobuf message.
  req.write(Buffer.concat([Buffer.from([0, 0, 0, 0, 16]), Buffer.alloc(16, 0xff)]));
  req.end();
  const h = await Promise.race([trailers, headers]);
  const code = Number(h['grpc-status'] ?? (await trailers)['grpc-status']);
  assert.notEqual(code, 0);
  session.close();
  await assertClusterHealthy();
});

test('the CLI names the address it tried when etcd or the coordinator is unreachable', async () => {
  const noCoordinator = await runCli(['locks', '--coordinator', '127.0.0.1:1']);
  assert.equal(noCoordinator.code, 1);
  assert.match(noCoordinator.stderr, /unreachable at 127\.0\.0\.1:1/);
  const noEtcd = await runCli(['coordinator', '--etcd', 'http://127.0.0.1:1', '--listen', '127.0.0.1:0']);
  assert.notEqual(noEtcd.code, 0);
  assert.match(noEtcd.stderr, /etcd unreachable at http:\/\/127\.0\.0\.1:1/);
  const lockNoCoordinator = await runCli(['lock', 'r', '--coordinator', '127.0.0.1:1', '--', 'true']);
  assert.equal(lockNoCoordinator.code, 1);
  assert.match(lockNoCoordinator.stderr, /unreachable at 127\.0\.0\.1:1/);
});

test('bad CLI arguments exit 2 with a clear message', async () => {
  const c = ['--coordinator', cluster.coordinator.address];
  const cases: Array<[string[], RegExp]> = [
    [['lock', 'r', '--range', '5:1', ...c, '--', 'true'], /greater than start/],
    [['lock', 'r', '--range', '-3:10', ...c, '--', 'true'], /range/],
    [['lock', 'r', '--range', 'abc', ...c, '--', 'true'], /malformed range/],
    [['lock', 'r', '--mode', 'weird', ...c, '--', 'true'], /--mode must be one of shared, exclusive/],
    [['lock', 'r', '--timeout', '-1', ...c, '--', 'true'], /--timeout must be a non-negative number/],
    [['locks', '--coordinator', 'nonsense'], /malformed address/],
    [['coordinator', '--etcd', 'not-a-url'], /malformed etcd URL/],
  ];
  for (const [args, pattern] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  await assertClusterHealthy();
});
