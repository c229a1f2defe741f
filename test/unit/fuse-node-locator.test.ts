import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promises as fsp, openSync, closeSync } from 'fs';
import * as os from 'os';
import * as nodePath from 'path';
import { PassThrough } from 'stream';
import { createLogger, silentLogger } from '../../src/common/logger';
import { loadFuseAddon } from '../../src/agent/fuse/ll/fuse-addon';
import { hasDacReadSearch, NodeLocator } from '../../src/agent/fuse/ll/node-locator';

/**
 * NodeLocator (docs/fuse.md "Nodes another host moved"): a backing inode's
 * file handle, taken when the node is made, finds it again after a rename
 * elsewhere; what is deleted or outside the backing root is gone; without
 * CAP_DAC_READ_SEARCH nothing is taken and the log says so once.
 */
let dir: string;
const sys = () => loadFuseAddon().sys;
const asRoot = { skip: process.getuid?.() !== 0 ? 'needs root (CAP_DAC_READ_SEARCH)' : false };

before(async () => {
  dir = await fsp.realpath(await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-locator-')));
});

after(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** A logger whose records (parsed JSON) land in the returned array. */
function recordingLogger() {
  const records: Array<Record<string, unknown>> = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line) records.push(JSON.parse(line) as Record<string, unknown>);
  });
  return { logger: createLogger({ json: true, stream, level: 'debug' }), records };
}

describe('NodeLocator', () => {
  it('finds a directory another host renamed, and a file inside it, where they are now', asRoot, async () => {
    const root = nodePath.join(dir, 'r1');
    await fsp.mkdir(nodePath.join(root, 'x'), { recursive: true });
    await fsp.writeFile(nodePath.join(root, 'x', 'f'), 'x');
    const locator = new NodeLocator(root, sys(), silentLogger());
    assert.equal(locator.enabled, true);
    const dirHandle = await locator.takeAt('/x');
    const fd = openSync(nodePath.join(root, 'x', 'f'), 'r');
    const fileHandle = locator.takeOfFd(fd);
    closeSync(fd);
    assert.ok(dirHandle && fileHandle);
    await fsp.rename(nodePath.join(root, 'x'), nodePath.join(root, 'y'));
    await fsp.mkdir(nodePath.join(root, 'x')); // a new directory under the old name
    assert.deepEqual(await locator.locate(dirHandle), { path: '/y' });
    assert.deepEqual(await locator.locate(fileHandle), { path: '/y/f' });
  });

  it('says a deleted file and a removed directory are gone', asRoot, async () => {
    const root = nodePath.join(dir, 'r2');
    await fsp.mkdir(nodePath.join(root, 'd'), { recursive: true });
    await fsp.writeFile(nodePath.join(root, 'd', 'f'), 'x');
    const locator = new NodeLocator(root, sys(), silentLogger());
    const [d, f] = [await locator.takeAt('/d'), await locator.takeAt('/d/f')];
    const held = await fsp.open(nodePath.join(root, 'd', 'f'), 'r'); // still open: the inode lives on, unlinked
    try {
      await fsp.unlink(nodePath.join(root, 'd', 'f'));
      assert.equal(await locator.locate(f), 'gone');
    } finally {
      await held.close();
    }
    await fsp.rmdir(nodePath.join(root, 'd'));
    assert.equal(await locator.locate(d), 'gone');
  });

  it('refuses a path outside the backing root: the inode is gone for the mount', asRoot, async () => {
    const root = nodePath.join(dir, 'r3');
    await fsp.mkdir(nodePath.join(root, 'd'), { recursive: true });
    const locator = new NodeLocator(root, sys(), silentLogger());
    const handle = await locator.takeAt('/d');
    await fsp.rename(nodePath.join(root, 'd'), nodePath.join(dir, 'r3-outside'));
    assert.equal(await locator.locate(handle), 'gone');
    await fsp.mkdir(nodePath.join(dir, 'r3x', 'd'), { recursive: true }); // a sibling whose name starts with the root's
    const sibling = await new NodeLocator(nodePath.join(dir, 'r3x'), sys(), silentLogger()).takeAt('/d');
    assert.equal(await locator.locate(sibling), 'gone');
  });

  it('gives the root itself as /', asRoot, async () => {
    const root = nodePath.join(dir, 'r4');
    await fsp.mkdir(root);
    const locator = new NodeLocator(root, sys(), silentLogger());
    assert.deepEqual(await locator.locate(await locator.takeAt('/')), { path: '/' });
  });

  it('takes no handle and locates nothing without CAP_DAC_READ_SEARCH, and says so once in the log', async () => {
    const root = nodePath.join(dir, 'r5');
    await fsp.mkdir(nodePath.join(root, 'd'), { recursive: true });
    const { logger, records } = recordingLogger();
    const locator = new NodeLocator(root, sys(), logger, false);
    assert.equal(locator.enabled, false);
    assert.equal(await locator.takeAt('/d'), undefined);
    assert.equal(await locator.locate(Buffer.alloc(16)), undefined);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(records.map((r) => [r.level, r.message, r.reason]), [['warn', 'nodes moved by other hosts are found by path only', 'no CAP_DAC_READ_SEARCH']]);
  });

  it('refuses bad arguments with a clear error and answers failed system calls with -errno', async () => {
    const s = sys();
    assert.throws(() => s.handleOfFd('3' as never), TypeError);
    assert.throws(() => s.handleOfFd(-1), /expected a file descriptor/);
    assert.equal(s.handleOfFd(2 ** 30), -9); // EBADF
    assert.throws(() => s.pathOfHandleAsync(dir, Buffer.alloc(3)), /expected a file handle Buffer/);
    const lying = Buffer.alloc(8 + 16);
    lying.writeUInt32LE(64, 0); // says 64 bytes follow, 16 do
    assert.throws(() => s.pathOfHandleAsync(dir, lying), /length mismatch/);
    assert.throws(() => s.pathOfHandleAsync(dir, 'x' as never), /expected a file handle Buffer/);
    assert.equal(await s.handleAtAsync(nodePath.join(dir, 'no-such-name')), -2); // ENOENT
    const garbage = Buffer.alloc(8 + 8, 0xff);
    garbage.writeUInt32LE(8, 0);
    garbage.writeInt32LE(1, 4);
    assert.equal(typeof (await s.pathOfHandleAsync(dir, garbage)), 'number', 'a handle of nothing: -errno');
  });

  it('reads the capability from the effective set', () => {
    assert.equal(hasDacReadSearch('Name:\tx\nCapEff:\t000001fffeffffff\n'), true);
    assert.equal(hasDacReadSearch('Name:\tx\nCapEff:\t000001fffefffffb\n'), false);
    assert.equal(hasDacReadSearch('Name:\tx\n'), false);
  });

  it('turns itself off, logging once, when the kernel refuses open_by_handle_at (a process without the capability)', asRoot, async () => {
    const root = nodePath.join(dir, 'r6');
    await fsp.mkdir(nodePath.join(root, 'd'), { recursive: true });
    // A real process without CAP_DAC_READ_SEARCH, told it has it: takes a handle, then gets EPERM from the kernel.
    const script = `
      const { NodeLocator, hasDacReadSearch } = require(${JSON.stringify(require.resolve('../../src/agent/fuse/ll/node-locator'))});
      const { loadFuseAddon } = require(${JSON.stringify(require.resolve('../../src/agent/fuse/ll/fuse-addon'))});
      const { createLogger } = require(${JSON.stringify(require.resolve('../../src/common/logger'))});
      (async () => {
        const logger = createLogger({ json: true, stream: process.stderr });
        const detected = new NodeLocator(${JSON.stringify(root)}, loadFuseAddon().sys, logger).enabled;
        const forced = new NodeLocator(${JSON.stringify(root)}, loadFuseAddon().sys, logger, true);
        const handle = await forced.takeAt('/d');
        const first = await forced.locate(handle), second = await forced.locate(handle);
        console.log(JSON.stringify({ capable: hasDacReadSearch(), detected, took: handle !== undefined, first: first ?? null, second: second ?? null, enabled: forced.enabled }));
      })();`;
    const out = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile('setpriv', ['--inh-caps=-dac_read_search', '--bounding-set=-dac_read_search', process.execPath, '-e', script], (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve({ stdout, stderr })));
    });
    assert.deepEqual(JSON.parse(out.stdout), { capable: false, detected: false, took: true, first: null, second: null, enabled: false });
    const logged = out.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(logged.map((r) => r.reason), ['no CAP_DAC_READ_SEARCH', 'open_by_handle_at refused (EPERM)']);
  });
});
