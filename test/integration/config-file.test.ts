import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EtcdProcess, startEtcd } from '../support/etcd';
import { runCli } from '../support/cluster';
import { spawnLoggedCoordinator } from '../support/secure-cluster';
import { TestPki } from '../support/pki';

let etcd: EtcdProcess;
let dir: string;

before(async () => {
  etcd = await startEtcd();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-config-'));
});

after(async () => {
  await etcd?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

async function coordinatorIdWith(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const c = await spawnLoggedCoordinator(args, { COHERD_LOG_LEVEL: 'warn', ...env });
  try {
    const status = await runCli(['status', '--coordinator', c.address, '--json']);
    assert.equal(status.code, 0, status.stderr);
    return JSON.parse(status.stdout).coordinators[0].id;
  } finally {
    await c.stop();
  }
}

test('a coordinator runs from a config file alone; a variable beats the file and a flag beats both', async () => {
  const cfg = file('coordinator.yaml', [
    '# coordinator settings',
    `etcd: ${etcd.endpoint}`,
    'listen: 127.0.0.1:0',
    'prefix: /coherd-config-test/',
    'session-ttl: 6',
    'admin-names: [admin, ops]',
    'id: from-file',
  ].join('\n') + '\n');
  assert.equal(await coordinatorIdWith(['--config', cfg], {}), 'from-file');
  assert.equal(await coordinatorIdWith([], { COHERD_CONFIG: cfg, COHERD_ID: 'from-env' }), 'from-env');
  assert.equal(await coordinatorIdWith(['--config', cfg, '--id', 'from-flag'], { COHERD_ID: 'from-env' }), 'from-flag');
});

test('a coordinator refuses to start on a bad config file and names the key', async () => {
  const cases: Array<[string, RegExp]> = [
    [`etcd: ${etcd.endpoint}\nsesion-ttl: 5\n`, /unknown key "sesion-ttl" in .*coordinator-bad\.yaml \(known keys: etcd, listen/],
    [`etcd: ${etcd.endpoint}\nsession-ttl: soon\n`, /"session-ttl" in .*coordinator-bad\.yaml must be a non-negative number of seconds, got "soon"/],
    [`etcd: ${etcd.endpoint}\ninsecure: "yes please"\n`, /key "insecure" in .* must be true or false/],
    [`etcd: ${etcd.endpoint}\nlisten: {host: a}\n`, /key "listen" in .* must be a string, number, boolean or list of them, got a mapping/],
    [`etcd: not-a-url\n`, /"etcd" in .*: malformed etcd URL "not-a-url"/],
    [`listen: 127.0.0.1:0\n`, /--etcd is required \(or \$COHERD_ETCD, or "etcd" in the config file\)/],
    [`etcd: [${etcd.endpoint}\n`, /config file .*coordinator-bad\.yaml line \d+:/],
    [`- just\n- a list\n`, /must be a mapping of option names to values/],
    [`etcd: ${etcd.endpoint}\ntls-cert: /nonexistent.pem\n`, /TLS needs --tls-cert, --tls-key and --tls-ca together; "tls-cert" in .* given but --tls-key, --tls-ca missing/],
  ];
  for (const [text, pattern] of cases) {
    const cfg = file('coordinator-bad.yaml', text);
    const r = await runCli(['coordinator', '--config', cfg]);
    assert.equal(r.code, 2, `${text}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  const missing = await runCli(['coordinator', '--config', path.join(dir, 'nope.yaml')]);
  assert.match(missing.stderr, /cannot read config file .*nope\.yaml: ENOENT/);
  const badEnv = await runCli(['coordinator', '--etcd', etcd.endpoint], { COHERD_REVOKE_DEADLINE: '-2' });
  assert.equal(badEnv.code, 2);
  assert.match(badEnv.stderr, /\$COHERD_REVOKE_DEADLINE must be a non-negative number of seconds/);
});

test('coherd config check validates coordinator and agent files without starting anything', async () => {
  const good = file('agent.yaml', 'coordinator: [127.0.0.1:7070, 127.0.0.1:7071]\nbacking: /srv/shared\nmount: /mnt/shared\nnamespace: shared\nttl: 10\nmetrics-listen: 127.0.0.1:9478\n');
  const ok = await runCli(['config', 'check', good]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /valid agent configuration/);
  assert.match(ok.stdout, /coordinator\s+127\.0\.0\.1:7070,127\.0\.0\.1:7071\s+config/);
  assert.match(ok.stdout, /state-dir\s+\/run\/coherd\s+default/);
  const badNs = await runCli(['config', 'check', file('agent-bad.yaml', 'coordinator: 127.0.0.1:7070\nbacking: /b\nmount: /m\nnamespace: "a b"\n')]);
  assert.equal(badNs.code, 2);
  assert.match(badNs.stderr, /"namespace" in .*agent-bad\.yaml must be 1-64 letters/);
  const noMount = await runCli(['config', 'check', '--for', 'agent', file('agent-partial.yaml', 'coordinator: 127.0.0.1:7070\nbacking: /b\nnamespace: ns\n')]);
  assert.match(noMount.stderr, /--mount is required \(or \$COHERD_MOUNT, or "mount" in the config file\)/);
  const unknown = await runCli(['config', 'check', file('what.yaml', 'colour: blue\n')]);
  assert.match(unknown.stderr, /cannot tell whether .* give --for coordinator\|agent/);
  const badAllow = await runCli(['config', 'check', file('agent-allow.yaml', 'coordinator: 127.0.0.1:7070\nbacking: /b\nmount: /m\nnamespace: ns\nallow-other: maybe\n')]);
  assert.equal(badAllow.code, 2);
  assert.match(badAllow.stderr, /"allow-other" in .*agent-allow\.yaml must be yes, no or auto, got "maybe"/);
  const agentStart = await runCli(['agent', '--config', file('agent-start.yaml', 'coordinator: 127.0.0.1:1\nbacking: /b\nmount: /m\n')]);
  assert.equal(agentStart.code, 2, 'the agent validates before it mounts anything');
  assert.match(agentStart.stderr, /--namespace is required/);
});

test('config check opens the TLS files and refuses a key that does not match the certificate', async () => {
  const pki = TestPki.create();
  try {
    const a = pki.issue('coordinator', { server: true });
    const b = pki.issue('other', { server: true });
    const base = `etcd: ${etcd.endpoint}\ntls-cert: ${a.certFile}\ntls-ca: ${a.caFile}\netcd-password-file: ${file('pw', 'hunter2-secret\n')}\netcd-user: coherd\n`;
    const good = await runCli(['config', 'check', file('tls-good.yaml', `${base}tls-key: ${a.keyFile}\n`)]);
    assert.equal(good.code, 0, good.stderr);
    assert.doesNotMatch(good.stdout, /hunter2/);
    const bad = await runCli(['config', 'check', file('tls-bad.yaml', `${base}tls-key: ${b.keyFile}\n`)]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /other\.key is not the private key of .*coordinator\.pem/);
  } finally {
    pki.remove();
  }
});
