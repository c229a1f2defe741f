import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AdminClient } from '../../src/agent/client/admin-client';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import { silentLogger } from '../../src/common/logger';
import { runCli, spawnCoordinator, startCluster, TestCluster } from '../support/cluster';

let cluster: TestCluster;
let dir: string;
let tokenFile: string;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-admin-identity-'));
  tokenFile = path.join(dir, 'admin', 'token');
  cluster = await startCluster(['--admin-token-file', tokenFile]);
});

after(async () => {
  await cluster?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a coordinator without TLS keeps its admin token in a file only its user can read', () => {
  assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(tokenFile)).mode & 0o777, 0o700);
  assert.match(fs.readFileSync(tokenFile, 'utf8'), /^[0-9a-f]{64}\n$/);
});

test('admin calls without the admin token are refused with PERMISSION_DENIED and say where the token is', async () => {
  const noToken = new AdminClient([cluster.coordinator.address], undefined, 5000, path.join(dir, 'absent'));
  for (const call of [() => noToken.dumpLocks(), () => noToken.listSessions(), () => noToken.evict('some-session')]) {
    await assert.rejects(call(), (e: Error & { reason?: string }) => {
      assert.equal(e.reason, 'PERMISSION_DENIED');
      assert.match(e.message, /admin identity required: no admin token was sent; it is in .*admin\/token/);
      return true;
    });
  }
  const other = path.join(dir, 'other-token');
  fs.writeFileSync(other, 'ab'.repeat(32) + '\n', { mode: 0o600 });
  await assert.rejects(new AdminClient([cluster.coordinator.address], undefined, 5000, other).dumpLocks(), /not this coordinator's/);
  assert.equal((await noToken.status()).role, 'LEADER', 'Status needs no admin identity');
});

test('admin calls with the admin token are served, from the client library and the CLI', async () => {
  const client = await CoherdClient.connect({ endpoints: [cluster.coordinator.address], clientName: 'admin-target', logger: silentLogger() });
  try {
    await client.acquire({ resource: 'admin-res', space: 'range', mode: 'EXCLUSIVE', range: { start: 0, end: 1 } });
    const admin = new AdminClient([cluster.coordinator.address], undefined, 5000, tokenFile);
    const dump = await admin.dumpLocks();
    assert.ok((dump.locks as Array<{ resource: string }>).some((l) => l.resource === 'admin-res'));
    const c = ['--coordinator', cluster.coordinator.address];
    const refused = await runCli(['sessions', ...c], { COHERD_ADMIN_TOKEN_FILE: path.join(dir, 'absent') });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /admin identity required/);
    const listed = await runCli(['sessions', ...c, '--admin-token-file', tokenFile]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${client.sessionId}\\s+admin-target`));
    const evicted = await runCli(['evict', client.sessionId, ...c], { COHERD_ADMIN_TOKEN_FILE: tokenFile });
    assert.equal(evicted.code, 0, evicted.stderr);
    assert.match(evicted.stdout, /1 grants freed/);
  } finally {
    await client.close().catch(() => undefined);
  }
});

test('a coordinator refuses to start with an admin token file others may read', async () => {
  const loose = path.join(dir, 'loose-token');
  fs.writeFileSync(loose, 'cd'.repeat(32) + '\n', { mode: 0o644 });
  fs.chmodSync(loose, 0o644);
  await assert.rejects(spawnCoordinator(cluster.etcd.endpoint, ['--admin-token-file', loose]), /readable by others \(mode 644\); it must be 0600/);
});
