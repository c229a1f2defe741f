import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { after, describe, it } from 'node:test';
import { silentLogger } from '../../src/common/logger';
import { CacheFence } from '../../src/agent/fuse/fence/cache-fence';

/**
 * coherd_fence itself (the real executable), with a FIFO standing in for
 * the /dev/fuse connection: what it would write to the kernel is read
 * from the FIFO's other end (FUSE_NOTIFY_INVAL_INODE messages).
 */
const dir = mkdtempSync(nodePath.join(tmpdir(), 'coherd-fence-test-'));
let fifos = 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

after(() => rmSync(dir, { recursive: true, force: true }));

/** A FIFO: the end the fence writes to (its "connection"), and ours to read. */
function connection(): { writeFd: number; readFd: number } {
  const path = nodePath.join(dir, `conn-${++fifos}`);
  execFileSync('mkfifo', [path]);
  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(path, constants.O_WRONLY);
  return { writeFd, readFd };
}

interface InvalInode { len: number; error: number; unique: bigint; ino: bigint; off: bigint; length: bigint }

/** Every message the fence wrote so far (40 bytes each: fuse_out_header + fuse_notify_inval_inode_out). */
function messages(readFd: number): InvalInode[] {
  const out: InvalInode[] = [];
  const b = Buffer.alloc(40);
  for (;;) {
    let n: number;
    try {
      n = readSync(readFd, b, 0, 40, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return out;
      throw e;
    }
    if (n === 0) return out;
    assert.equal(n, 40, 'one whole message per write');
    out.push({ len: b.readUInt32LE(0), error: b.readInt32LE(4), unique: b.readBigUInt64LE(8), ino: b.readBigUInt64LE(16), off: b.readBigInt64LE(24), length: b.readBigInt64LE(32) });
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('coherd_fence', () => {
  it('drops nothing while the lease deadline is ahead, then every listed node, whole files, once it passed', { timeout: 20_000 }, async () => {
    const c = connection();
    let deadline = performance.now() + 10_000; // as the agent's lease deadline: a point in time, not a span
    const fence = new CacheFence({ sessionFd: c.writeFd, leaseLeftMs: () => deadline - performance.now(), logger: silentLogger() });
    try {
      assert.equal(fence.hold(5), true);
      assert.equal(fence.hold(7), true);
      assert.equal(fence.hold(9), true);
      fence.release(9);
      await sleep(300);
      assert.deepEqual(messages(c.readFd), [], 'no drop before the deadline');
      deadline = performance.now();
      fence.refresh();
      let got: InvalInode[] = [];
      await until('two drops', () => (got = got.concat(messages(c.readFd))).length >= 2);
      await sleep(100);
      got = got.concat(messages(c.readFd));
      assert.deepEqual(got.map((m) => m.ino).sort(), [5n, 7n], 'each listed node once, the released one not');
      for (const m of got) assert.deepEqual({ ...m, ino: 0n }, { len: 40, error: 2, unique: 0n, ino: 0n, off: 0n, length: 0n });
      // A node listed past the deadline is dropped too.
      fence.hold(11);
      await until('the drop of a node listed late', () => messages(c.readFd).some((m) => m.ino === 11n));
    } finally {
      await fence.stop();
      closeSync(c.readFd);
      closeSync(c.writeFd);
    }
  });

  it('fires again only for a deadline that moved on and passed again', { timeout: 20_000 }, async () => {
    const c = connection();
    let deadline = performance.now();
    const fence = new CacheFence({ sessionFd: c.writeFd, leaseLeftMs: () => deadline - performance.now(), logger: silentLogger() });
    try {
      fence.hold(3);
      await until('the first drop', () => messages(c.readFd).length === 1);
      await sleep(200);
      assert.deepEqual(messages(c.readFd), [], 'the same deadline fires once');
      deadline = performance.now() + 400;
      fence.refresh();
      await sleep(100);
      assert.deepEqual(messages(c.readFd), [], 'a new deadline ahead');
      await until('the drop at the new deadline', () => messages(c.readFd).length === 1);
    } finally {
      await fence.stop();
      closeSync(c.readFd);
      closeSync(c.writeFd);
    }
  });

  it('runs in a process group of its own, so a signal to the agent\'s group does not stop it', { timeout: 20_000 }, async () => {
    const c = connection();
    const fence = new CacheFence({ sessionFd: c.writeFd, leaseLeftMs: () => 10_000, logger: silentLogger() });
    try {
      const pid = fence.pid!;
      await until('the fence to start', () => running(pid));
      const pgrp = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[2]);
      assert.equal(pgrp, pid);
      assert.notEqual(pgrp, Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[2]));
    } finally {
      await fence.stop();
      closeSync(c.readFd);
      closeSync(c.writeFd);
    }
  });

  it('exits when the agent stops it, and when the connection goes away (then holds no node)', { timeout: 20_000 }, async () => {
    const c = connection();
    const fence = new CacheFence({ sessionFd: c.writeFd, leaseLeftMs: () => 10_000, logger: silentLogger() });
    const pid = fence.pid!;
    await fence.stop();
    assert.equal(running(pid), false);
    closeSync(c.readFd);
    closeSync(c.writeFd);

    const d = connection();
    const gone = new CacheFence({ sessionFd: d.writeFd, leaseLeftMs: () => 10_000, logger: silentLogger() });
    closeSync(d.writeFd);
    closeSync(d.readFd); // no reader left: the fence's end reports POLLERR
    await until('the fence to exit', () => !gone.alive);
    assert.equal(gone.hold(1), false, 'no open is cached without a fence');
    await gone.stop();
  });

  it('caches nothing when the fence cannot be started, and stops at once', { timeout: 20_000 }, async () => {
    const c = connection();
    const fence = new CacheFence({ sessionFd: c.writeFd, leaseLeftMs: () => 10_000, logger: silentLogger(), binary: nodePath.join(dir, 'no-such-fence') });
    try {
      await until('the failed start to be seen', () => !fence.alive);
      assert.equal(fence.hold(1), false);
      await fence.stop();
    } finally {
      closeSync(c.readFd);
      closeSync(c.writeFd);
    }
  });

  it('exits when the agent dies (parent-death signal), without being told', { timeout: 20_000 }, async () => {
    const c = connection();
    // A stand-in agent: starts a fence on the FIFO, prints its pid, then waits to be killed.
    const script = `
      const { CacheFence } = require(${JSON.stringify(require.resolve('../../src/agent/fuse/fence/cache-fence'))});
      const { silentLogger } = require(${JSON.stringify(require.resolve('../../src/common/logger'))});
      const f = new CacheFence({ sessionFd: 3, leaseLeftMs: () => 10000, logger: silentLogger() });
      console.log(f.pid); setInterval(() => {}, 1000);`;
    const agent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit', c.writeFd] });
    let out = '';
    agent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await until('the stand-in agent to report its fence', () => /\d+\n/.test(out), 10_000);
      const pid = Number(out.trim());
      assert.equal(running(pid), true);
      agent.kill('SIGKILL');
      await until('the fence to exit after its agent died', () => !running(pid));
    } finally {
      agent.kill('SIGKILL');
      closeSync(c.readFd);
      closeSync(c.writeFd);
    }
  });
});
