import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { NetnsHost } from '../support/netns';

/**
 * deploy/netns-cluster.sh, the operators' hand tool for "other hosts" on one
 * machine: `up N` makes N namespaces joined to this one, each reachable at
 * 10.213.i.2; taking its link down cuts it off; `down N` removes it all.
 */
const SCRIPT = path.resolve(__dirname, '../../../deploy/netns-cluster.sh');
const usable = NetnsHost.usable();

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
}

function fetchPong(address: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: address, port: 7999 });
    let data = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('timed out')); }, timeoutMs);
    socket.on('data', (d) => { data += d; });
    socket.on('end', () => { clearTimeout(timer); resolve(data); });
    socket.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

test('deploy/netns-cluster.sh makes reachable hosts, a downed link cuts one off, and down removes everything', { skip: usable ? false : 'needs root and ip' }, async () => {
  execFileSync('bash', [SCRIPT, 'down', '2']);
  try {
    const out = execFileSync('bash', [SCRIPT, 'up', '2'], { encoding: 'utf8' });
    assert.match(out, /host coherd-h1: 10\.213\.1\.2/);
    assert.ok(['coherd-h1', 'coherd-h2'].every((n) => namespaces().includes(n)));
    const server = spawn('ip', ['netns', 'exec', 'coherd-h2', process.execPath, '-e',
      "require('net').createServer((s) => s.end('pong')).listen(7999, '10.213.2.2', () => console.log('ready'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve) => server.stdout!.once('data', () => resolve()));
      assert.equal(await fetchPong('10.213.2.2', 3000), 'pong', 'reachable from this host');
      execFileSync('ip', ['link', 'set', 'ch2', 'down']);
      await assert.rejects(fetchPong('10.213.2.2', 1000), 'cut off while its link is down');
      execFileSync('ip', ['link', 'set', 'ch2', 'up']);
      assert.equal(await fetchPong('10.213.2.2', 3000), 'pong', 'back once the link is up');
    } finally {
      server.kill();
    }
  } finally {
    execFileSync('bash', [SCRIPT, 'down', '2']);
  }
  assert.ok(!namespaces().some((n) => n === 'coherd-h1' || n === 'coherd-h2'), 'no namespace left');
});
