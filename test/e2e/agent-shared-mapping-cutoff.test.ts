import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { AgentCluster, waitForFile } from '../support/agent-cluster';

/**
 * A host cut off from the coordinator with pages a writable shared mapping
 * dirtied (docs/fuse.md, "Writable shared mappings"): at its lease deadline
 * the agent drops its pages, the kernel writes the dirty one back, and the
 * agent refuses it (no WRITE token any more). The application's msync
 * gets EIO, and the bytes never reach the store, where another host wrote
 * meanwhile. A reaches the coordinator through a TcpProxy the test
 * blackholes; TTL 3 s; agents with --writable-mappings yes.
 */
const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const OLD = 'old-bytes-000000';
const NEW = 'new-bytes-111111';

/** Maps the file read-write, stores STALE over its first 8 bytes, writes `ready`; once `go` exists, msyncs and prints the outcome. */
const MAPPED_WRITER = `
import errno, mmap, os, sys, time
path, ready, go = sys.argv[1:4]
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, 16, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[0:8] = b'A-STALE!'
open(ready, 'w').close()
while not os.path.exists(go): time.sleep(0.01)
try:
    m.flush(); print('msync ok', flush=True)
except OSError as e:
    print('msync', errno.errorcode.get(e.errno, e.errno), flush=True)`;

let cluster: AgentCluster;

describe('a host cut off with pages a writable mapping dirtied', () => {
  before(async () => {
    cluster = await AgentCluster.start({ agents: 2, ttlSeconds: 3, proxied: [0], agentArgs: ['--writable-mappings', 'yes'] });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('refuses them at its lease deadline: msync gets EIO, and the store keeps what another host wrote since', { timeout: 90_000 }, async () => {
    await cluster.sh(`printf ${q(OLD)} > ${q(cluster.mnt(0, 'cut'))}`);
    const ready = cluster.tmp('cut.ready');
    const go = cluster.tmp('cut.go');
    const writer = cluster.spawnSh(`python3 -c ${q(MAPPED_WRITER)} ${q(cluster.mnt(0, 'cut'))} ${q(ready)} ${q(go)}`);
    let printed = '';
    writer.child.stdout!.on('data', (d: Buffer) => (printed += d.toString()));
    await waitForFile(ready);
    const proxy = cluster.proxies.get(0)!;
    proxy.blackhole();
    try {
      // B's write waits for A's session to end (A cannot answer the revoke): A's deadline has passed when it returns.
      await cluster.sh(`python3 -c ${q('import os, sys\nfd = os.open(sys.argv[1], os.O_WRONLY)\nos.pwrite(fd, sys.argv[2].encode(), 0)\nos.close(fd)')} ${q(cluster.mnt(1, 'cut'))} ${q(NEW)}`, { timeoutMs: 30_000 });
      await cluster.sh(`touch ${q(go)}`);
      const r = await writer.result(30_000);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      proxy.heal();
    }
    assert.equal(printed.trim(), 'msync EIO', 'the application learns its stores were not written');
    assert.equal(await readFile(cluster.bak('cut'), 'utf8'), NEW, 'the bytes dirtied under the lost session never reached the store');
    assert.equal((await cluster.sh(`cat ${q(cluster.mnt(1, 'cut'))}`)).trim(), NEW);
  });
});
