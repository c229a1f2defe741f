import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { it } from 'node:test';
import { silentLogger } from '../../src/common/logger';
import { LocalLockServer } from '../../src/agent/local-api/local-lock-server';

it('refuses a lock socket path longer than a Unix socket can hold, naming the limit, instead of binding a truncated name', async () => {
  const long = path.join(os.tmpdir(), 'd'.repeat(120), 'agent.sock');
  const server = new LocalLockServer(long, () => assert.fail('no client is needed'), silentLogger());
  await assert.rejects(server.start(), /longer than 107 bytes.*--socket or --state-dir/);
});
