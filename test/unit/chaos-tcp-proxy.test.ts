import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { TcpProxy } from '../support/tcp-proxy';

/** A server that answers every chunk with "leader at 127.0.0.1:<its port>" and counts what it received. */
async function hintServer(): Promise<{ server: net.Server; port: number; received: () => number }> {
  let received = 0;
  const server = net.createServer((s) => s.on('data', (d) => { received += d.length; s.write(`leader at 127.0.0.1:${port}`); }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return { server, port, received: () => received };
}

function exchange(port: number, waitMs = 300): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const c = net.connect(port, '127.0.0.1', () => c.write('hello'));
    c.on('data', (d) => (got += d));
    setTimeout(() => { c.destroy(); resolve(got); }, waitMs);
  });
}

test('the fault proxy rewrites the target\'s address in what it sends back, and drops one direction only when asked', async () => {
  const { server, port, received } = await hintServer();
  const rewrite: Array<[Buffer, Buffer]> = [];
  const proxy = new TcpProxy('127.0.0.1', port, { rewrite });
  await proxy.start();
  try {
    rewrite.push([Buffer.from(`127.0.0.1:${port}`), Buffer.from(proxy.address)]);
    assert.equal(await exchange(proxy.port), `leader at ${proxy.address}`);

    proxy.dropOneWay('to-client');
    const before = received();
    assert.equal(await exchange(proxy.port), '', 'answers are dropped');
    assert.ok(received() > before, 'requests still arrive');

    proxy.heal();
    proxy.dropOneWay('to-target');
    const before2 = received();
    assert.equal(await exchange(proxy.port), '');
    assert.equal(received(), before2, 'requests are dropped');
    proxy.heal();
    assert.equal(await exchange(proxy.port), `leader at ${proxy.address}`);
  } finally {
    await proxy.stop();
    server.close();
  }
});

test('the fault proxy refuses a rewrite that would change the length of the stream', () => {
  assert.throws(() => new TcpProxy('127.0.0.1', 1, { rewrite: [[Buffer.from('a:1'), Buffer.from('a:12')]] }), /same length/);
});
