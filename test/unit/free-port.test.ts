import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { ephemeralRangeStart, freePort } from '../../src/common/free-port';

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

test('free ports come from below the ephemeral range, so a restarted process never finds its port taken by a listen(0) or connect() socket', async () => {
  const start = ephemeralRangeStart();
  for (let i = 0; i < 100; i++) {
    const port = await freePort();
    assert.ok(port < start, `port ${port} is inside the ephemeral range starting at ${start}`);
  }
});

test('one process never hands out the same port twice, even after it was closed again', async () => {
  const seen = new Set<number>();
  for (let i = 0; i < 300; i++) {
    const port = await freePort();
    assert.ok(!seen.has(port), `port ${port} handed out twice`);
    seen.add(port);
  }
});

test('a port handed out can be listened on at once', async () => {
  const srv = await listen(await freePort());
  await new Promise<void>((r) => srv.close(() => r()));
});
