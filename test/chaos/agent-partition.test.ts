import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { AgentCluster } from '../support/agent-cluster';
import { eventually } from '../support/eventually';

/**
 * Writes 4 KiB blocks through a mount every 50 ms, never fsyncing, until a
 * write fails or the stop file appears; then fsync and close. Prints what
 * each step returned, so the test sees how lost data was reported.
 */
const STREAM_WRITER = `
import os, sys, time, errno
path, stop = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
n = 0
write_error = 'none'
while not os.path.exists(stop) and n < 400:
    try:
        os.pwrite(fd, b'A' * 4096, n * 4096)
        n += 1
    except OSError as e:
        write_error = errno.errorcode.get(e.errno, str(e.errno))
        break
    time.sleep(0.05)
def outcome(fn):
    try:
        fn()
        return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
print('blocks', n, 'write', write_error, 'fsync', outcome(lambda: os.fsync(fd)), 'close', outcome(lambda: os.close(fd)))
`;

test('an agent partitioned from the coordinator fences itself, another agent gets its ranges, and it comes back with a new session; its unflushed data is reported, not silently lost', { timeout: 120_000 }, async () => {
  const cluster = await AgentCluster.start({ agents: 2, ttlSeconds: 2, proxied: [0] });
  try {
    const A = 0;
    const B = 1;
    const proxy = cluster.proxies.get(A)!;
    const script = cluster.tmp('stream-writer.py');
    await fsp.writeFile(script, STREAM_WRITER);
    const writer = cluster.spawnSh(`python3 ${script} ${cluster.mnt(A, 'part')} ${cluster.tmp('stop-writer')}`);
    await eventually(async () => (await fsp.stat(cluster.bak('part'))).size > 0 || Promise.reject(new Error('nothing flushed yet')), 10_000);
    const sessionBefore = cluster.agents[A].sessionId;

    proxy.blackhole();
    const cutAt = Date.now();
    // B overwrites the first block: it gets the range once A's session is gone.
    assert.equal(await cluster.sh(`printf 'BBBB' | dd of=${cluster.mnt(B, 'part')} conv=notrunc status=none && echo ok`, { timeoutMs: 30_000 }), 'ok\n');
    const movedAfterMs = Date.now() - cutAt;
    console.log(`range moved to the other agent ${movedAfterMs} ms after the partition (TTL 2000 ms)`);

    await fsp.writeFile(cluster.tmp('stop-writer'), '');
    const result = await writer.result(30_000);
    console.log(`partitioned writer: ${result.stdout.trim()}`);
    assert.match(result.stdout, /write EIO|fsync EIO|close EIO/, 'the lost writes surfaced as EIO');

    proxy.heal();
    const sessionAfter = await cluster.agents[A].waitForNewSession(sessionBefore, 20_000);
    assert.notEqual(sessionAfter, sessionBefore);
    // A works again, and what B wrote is what everyone sees: A wrote nothing after its deadline.
    await eventually(async () => {
      const head = await cluster.sh(`head -c 4 ${cluster.mnt(A, 'part')}`);
      if (head !== 'BBBB') throw new Error(`A reads ${JSON.stringify(head)}`);
    }, 15_000);
    assert.equal((await fsp.readFile(cluster.bak('part'))).subarray(0, 4).toString(), 'BBBB');
    await cluster.sh(`echo again > ${cluster.mnt(A, 'after-heal')}`, { timeoutMs: 15_000 });
    assert.equal(await cluster.sh(`cat ${cluster.mnt(B, 'after-heal')}`), 'again\n');
  } finally {
    await cluster.stop();
  }
});
