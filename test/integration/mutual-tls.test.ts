import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { EtcdProcess } from '../support/etcd';
import { runCli } from '../support/cluster';
import { CertFiles, TestPki } from '../support/pki';
import { ETCD_PASSWORD, ETCD_USER, LoggedCoordinator, replaceFiles, spawnLoggedCoordinator, startSecureEtcd, tlsArgs } from '../support/secure-cluster';
import { firstReply } from '../support/raw-session';
import { adminClientConstructor } from '../../src/common/proto';
import { channelCredentials } from '../../src/coordinator/transport-security';

let pki: TestPki;
let otherCa: TestPki;
let etcd: EtcdProcess;
let etcdClient: CertFiles;
let coordinator: LoggedCoordinator;
let serverCert: CertFiles;
let admin: CertFiles;
let agent1: CertFiles;
let agent2: CertFiles;
let expired: CertFiles;
let foreign: CertFiles;

function etcdArgs(): string[] {
  return ['--etcd', etcd.endpoint, '--etcd-user', ETCD_USER, '--etcd-ca', etcdClient.caFile, '--etcd-cert', etcdClient.certFile, '--etcd-key', etcdClient.keyFile];
}

before(async () => {
  pki = TestPki.create('coherd-cluster-ca');
  otherCa = TestPki.create('some-other-ca');
  ({ etcd, client: etcdClient } = await startSecureEtcd(pki));
  serverCert = pki.issue('coordinator', { server: true });
  admin = pki.issue('admin');
  agent1 = pki.issue('agent-1');
  agent2 = pki.issue('agent-2');
  expired = pki.issue('agent-old', { startDate: '20200101000000Z', endDate: '20200102000000Z' });
  foreign = otherCa.issue('admin');
  coordinator = await spawnLoggedCoordinator([...etcdArgs(), '--listen', '127.0.0.1:0', ...tlsArgs(serverCert), '--admin-names', 'admin,ops'], { COHERD_ETCD_PASSWORD: ETCD_PASSWORD });
});

after(async () => {
  await coordinator?.stop();
  await etcd?.stop();
  pki?.remove();
  otherCa?.remove();
});

/** A Status call with credentials built by hand (no client-side checks), to see what the server itself accepts. */
function rawStatus(creds: grpc.ChannelCredentials): Promise<{ ok: boolean; detail: string }> {
  const Ctor = adminClientConstructor();
  const client = new Ctor(coordinator.address, creds);
  return new Promise((resolve) => {
    (client as unknown as { Status(r: object, o: object, cb: (e: grpc.ServiceError | null) => void): void }).Status({}, { deadline: Date.now() + 3000 }, (e) => {
      client.close();
      resolve(e ? { ok: false, detail: `${grpc.status[e.code]} ${e.details}` } : { ok: true, detail: '' });
    });
  });
}

function rawCreds(c: CertFiles, ca = c.caFile): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(fs.readFileSync(ca), fs.readFileSync(c.keyFile), fs.readFileSync(c.certFile));
}

test('coherd lock runs the command over mutual TLS and hands it the fencing token', async () => {
  const r = await runCli(['lock', 'tls-res', '--coordinator', coordinator.address, ...tlsArgs(agent1), '--', 'sh', '-c', 'echo "token=$COHERD_FENCING_TOKEN"']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /token=\d+\.\d+/);
});

test('client commands take their TLS files from COHERD_TLS_CERT, COHERD_TLS_KEY and COHERD_TLS_CA', async () => {
  const env = { COHERD_TLS_CERT: admin.certFile, COHERD_TLS_KEY: admin.keyFile, COHERD_TLS_CA: admin.caFile };
  const status = await runCli(['status', '--coordinator', coordinator.address, '--json'], env);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(JSON.parse(status.stdout).coordinators[0].role, 'LEADER');
  const sessions = await runCli(['sessions', '--coordinator', coordinator.address], env);
  assert.equal(sessions.code, 0, sessions.stderr);
  const partial = await runCli(['status', '--coordinator', coordinator.address], { COHERD_TLS_CERT: admin.certFile });
  assert.equal(partial.code, 2);
  assert.match(partial.stderr, /--tls-key, --tls-ca missing/);
});

test('refuses a client without a certificate, and says TLS may be needed', async () => {
  for (const args of [['status'], ['lock', 'tls-res', '--', 'true']]) {
    const r = await runCli([...args.slice(0, args[0] === 'lock' ? 2 : 1), '--coordinator', coordinator.address, ...args.slice(args[0] === 'lock' ? 2 : 1)]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /requires mutual TLS, give --tls-cert, --tls-key and --tls-ca/);
  }
  assert.equal((await rawStatus(grpc.credentials.createInsecure())).ok, false);
  assert.equal((await rawStatus(grpc.credentials.createSsl(fs.readFileSync(pki.caFile)))).ok, false, 'TLS without a client certificate');
});

test('refuses a client certificate from another CA', async () => {
  const cli = await runCli(['status', '--coordinator', coordinator.address, '--tls-cert', foreign.certFile, '--tls-key', foreign.keyFile, '--tls-ca', pki.caFile]);
  assert.equal(cli.code, 2);
  assert.match(cli.stderr, /not signed by the cluster CA .*its issuer is CN=some-other-ca/);
  const server = await rawStatus(rawCreds(foreign, pki.caFile));
  assert.equal(server.ok, false, 'the coordinator itself must refuse it');
  assert.match(server.detail, /UNAVAILABLE/);
  assert.equal((await rawStatus(rawCreds(admin))).ok, true, 'the same call with a cluster certificate works');
});

test('refuses an expired client certificate', async () => {
  const cli = await runCli(['lock', 'tls-res', '--coordinator', coordinator.address, ...tlsArgs(expired), '--', 'true']);
  assert.equal(cli.code, 2);
  assert.match(cli.stderr, /agent-old.pem \(CN=agent-old\) expired on 2020-01-02/);
  const server = await rawStatus(rawCreds(expired));
  assert.equal(server.ok, false, 'the coordinator itself must refuse it');
});

test('admin RPCs need a certificate whose name is in --admin-names', async () => {
  for (const cmd of [['locks'], ['sessions'], ['evict', 'deadbeef']]) {
    const r = await runCli([...cmd, '--coordinator', coordinator.address, ...tlsArgs(agent1)]);
    assert.equal(r.code, 1, `${cmd[0]}: ${r.stdout}`);
    assert.match(r.stderr, /admin identity required: certificate name "agent-1" is not in --admin-names/);
  }
  const status = await runCli(['status', '--coordinator', coordinator.address, ...tlsArgs(agent1)]);
  assert.equal(status.code, 0, 'status is for everyone with a cluster certificate');
  const locks = await runCli(['locks', '--coordinator', coordinator.address, ...tlsArgs(admin)]);
  assert.equal(locks.code, 0, locks.stderr);
  const evict = await runCli(['evict', 'deadbeef', '--coordinator', coordinator.address, ...tlsArgs(admin)]);
  assert.match(evict.stderr, /deadbeef/, 'an admin gets past the check to the session lookup');
});

test('a session cannot be resumed from another identity', async () => {
  const opened = await firstReply(coordinator.address, channelCredentials(agent1), { open: { clientName: 'agent-1', ttlMs: 10_000 } });
  assert.ok(opened.opened, JSON.stringify(opened));
  const resume = { ackSeq: opened.seq, resume: { sessionId: opened.opened!.sessionId, resumeSecret: opened.opened!.resumeSecret } };
  const stolen = await firstReply(coordinator.address, channelCredentials(agent2), resume);
  assert.equal(stolen.error?.reason, 'SESSION_NOT_OWNED', JSON.stringify(stolen));
  const own = await firstReply(coordinator.address, channelCredentials(agent1), resume);
  assert.equal(own.opened?.resumed, true, JSON.stringify(own));
  assert.doesNotMatch(coordinator.log(), new RegExp(String(opened.opened!.resumeSecret)), 'the resume secret is in a log line');
});

test('reaches etcd over TLS with a user and password, and no secret appears in any log line', async () => {
  const log = coordinator.log();
  assert.match(log, /connected to etcd/);
  assert.match(log, /"level":"debug"/, 'the coordinator logged at debug level, so the check covers every line');
  assert.doesNotMatch(log, new RegExp(ETCD_PASSWORD));
  assert.doesNotMatch(log, /PRIVATE KEY/);
  const wrong = await runCli(['coordinator', ...etcdArgs(), '--listen', '127.0.0.1:0'], { COHERD_ETCD_PASSWORD: 'not-the-password-3141', COHERD_LOG_LEVEL: 'debug' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /etcd/);
  assert.doesNotMatch(wrong.stderr + wrong.stdout, /not-the-password-3141/);
  const noTls = await runCli(['coordinator', '--etcd', etcd.endpoint, '--etcd-user', ETCD_USER, '--listen', '127.0.0.1:0'], { COHERD_ETCD_PASSWORD: ETCD_PASSWORD });
  assert.equal(noTls.code, 1, 'etcd requires a client certificate');
  assert.match(noTls.stderr, /etcd unreachable/);
});

/** Serial number of the certificate the coordinator presents to a new connection. */
function servedSerial(): Promise<string> {
  return new Promise((resolve, reject) => {
    const [host, port] = coordinator.address.split(':');
    const socket = tls.connect({
      host, port: Number(port), ca: fs.readFileSync(pki.caFile), cert: fs.readFileSync(admin.certFile), key: fs.readFileSync(admin.keyFile),
      ALPNProtocols: ['h2'], servername: 'localhost',
    }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.destroy();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}

test('reloads its certificate on SIGHUP without restarting, and keeps the old one if the new files are broken', async () => {
  const before = await servedSerial();
  const renewed = pki.issue('coordinator', { server: true, file: 'coordinator-renewed' });
  replaceFiles(renewed, serverCert);
  assert.equal(await servedSerial(), before, 'no reload before SIGHUP');
  const pid = coordinator.child.pid;
  coordinator.child.kill('SIGHUP');
  const deadline = Date.now() + 5000;
  let after = before;
  while (after === before && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    after = await servedSerial();
  }
  assert.notEqual(after, before, 'a new connection sees the renewed certificate');
  assert.equal(coordinator.child.pid, pid);
  assert.equal(coordinator.child.exitCode, null);
  fs.writeFileSync(serverCert.keyFile, 'garbage\n');
  coordinator.child.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await servedSerial(), after, 'a broken key keeps the previous certificate');
  assert.match(coordinator.log(), /TLS reload failed; keeping the previous certificates/);
  const status = await runCli(['status', '--coordinator', coordinator.address, ...tlsArgs(admin)]);
  assert.equal(status.code, 0, status.stderr);
});
