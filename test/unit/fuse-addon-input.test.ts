import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { describe, it } from 'node:test';
import { loadFuseAddon } from '../../src/agent/fuse/ll/fuse-addon';

/** The addon must refuse bad input with an error and never crash the process. */
describe('libfuse3 addon input checks', () => {
  const addon = loadFuseAddon();

  it('answers nothing for an id that is not pending', () => {
    assert.equal(addon.replyErr(12345, 2), false);
    assert.equal(addon.replyBuf(0, Buffer.alloc(1), 1), false);
    assert.equal(addon.replyDirplus(99, 4096, []), -1);
  });

  it('throws TypeError for arguments of the wrong type or range', () => {
    const a = addon as unknown as Record<string, (...args: unknown[]) => unknown>;
    assert.throws(() => a.replyErr('x', 1), TypeError);
    assert.throws(() => a.replyErr(1, -5), TypeError);
    assert.throws(() => a.replyAttr(1, null, 1), TypeError);
    assert.throws(() => a.replyEntry(1, { ino: -1 }), TypeError);
    assert.throws(() => a.replyBuf(1, Buffer.alloc(2), 3), TypeError);
    assert.throws(() => a.replyDirplus(1, 4096, [{ name: 5, ino: 0 }]), TypeError);
    assert.throws(() => a.replyLock(1, { type: 99 }), TypeError);
    assert.throws(() => a.unmount({}), TypeError);
    assert.throws(() => a.notifyInvalInode(null, 1, 0, 0), TypeError);
    assert.throws(() => a.notifyStore(null, 1, 0, Buffer.alloc(1)), TypeError);
    assert.throws(() => a.mount('/nonexistent', 'x', 5, {}), Error);
  });

  it('refuses unknown mount options with the reason', () => {
    assert.throws(() => addon.mount('/tmp', 'no_such_option', () => undefined, { locks: false }), /fuse_session_new failed.*no_such_option/);
  });

  it('returns -errno from system calls instead of throwing', () => {
    assert.equal(addon.sys.mknod('/nonexistent/dir/x', 0o10644, 0), -2);
    assert.equal(addon.sys.getxattr('/nonexistent', 'user.x', 0, true), -2);
    assert.equal(addon.sys.rename2('/nonexistent/a', '/nonexistent/b', 1), -2);
    assert.throws(() => addon.sys.getxattr('/tmp\0x', 'user.x', 0, false), TypeError);
  });

  it('runs the asynchronous system calls on the thread pool: results, -errno, and TypeError for bad arguments', async () => {
    const sys = addon.sys;
    const dir = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-sys-async-'));
    try {
      const a = nodePath.join(dir, 'a');
      const b = nodePath.join(dir, 'b');
      await fsp.writeFile(a, 'A');
      await fsp.writeFile(b, 'B');
      assert.equal(await sys.rename2Async(a, b, 2), 0, 'RENAME_EXCHANGE');
      assert.equal(await fsp.readFile(a, 'utf8'), 'B');
      assert.equal(await sys.rename2Async(a, b, 1), -17, 'RENAME_NOREPLACE onto an existing name: EEXIST');
      assert.equal(await sys.mknodAsync(nodePath.join(dir, 'fifo'), 0o10644, 0), 0);
      assert.ok((await fsp.lstat(nodePath.join(dir, 'fifo'))).isFIFO());
      const h = await fsp.open(a, 'r+');
      try {
        assert.equal(await sys.fallocateAsync(h.fd, 0, 0, 8192), 0);
        assert.equal((await h.stat()).size, 8192);
      } finally {
        await h.close();
      }
      const set = await sys.lsetxattrAsync(a, 'user.coherd', Buffer.from('v1'), 0);
      if (set === 0) {
        assert.equal(await sys.lgetxattrAsync(a, 'user.coherd', 0), 2);
        assert.deepEqual(await sys.lgetxattrAsync(a, 'user.coherd', 64), Buffer.from('v1'));
        assert.ok(((await sys.llistxattrAsync(a, 4096)) as Buffer).toString().includes('user.coherd'));
        assert.equal(await sys.lremovexattrAsync(a, 'user.coherd'), 0);
      } else {
        assert.equal(set, -95, 'only a filesystem without user xattrs may refuse (EOPNOTSUPP)');
      }
      assert.equal(await sys.lgetxattrAsync(nodePath.join(dir, 'missing'), 'user.x', 0), -2);
      assert.equal(await sys.fallocateAsync(-1, 0, 0, 1), -9, 'EBADF');
      const s = sys as unknown as Record<string, (...args: unknown[]) => unknown>;
      assert.throws(() => s.rename2Async(a, 5, 0), TypeError);
      assert.throws(() => s.lsetxattrAsync(a, 'user.x', 'not a buffer', 0), TypeError);
      assert.throws(() => s.fallocateAsync('x', 0, 0, 1), TypeError);
      assert.throws(() => s.mknodAsync('/tmp\0x', 0o10644, 0), TypeError);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('copies between descriptors with copyFileRangeAsync: up to the length or the source\'s end, -errno, TypeError for bad arguments', async () => {
    const sys = addon.sys;
    const dir = await fsp.mkdtemp(nodePath.join(os.tmpdir(), 'coherd-sys-copy-'));
    try {
      const data = Buffer.alloc(3 << 20);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
      await fsp.writeFile(nodePath.join(dir, 'src'), data);
      const src = await fsp.open(nodePath.join(dir, 'src'), 'r');
      const dst = await fsp.open(nodePath.join(dir, 'dst'), 'w');
      try {
        assert.equal(await sys.copyFileRangeAsync(src.fd, 100, dst.fd, 4096, 1 << 20), 1 << 20);
        assert.equal(await sys.copyFileRangeAsync(src.fd, (3 << 20) - 10, dst.fd, 0, 1 << 20), 10, 'short at the source\'s end');
        assert.equal(await sys.copyFileRangeAsync(src.fd, 3 << 20, dst.fd, 0, 5), 0, 'nothing past the end');
        const got = await fsp.readFile(nodePath.join(dir, 'dst'));
        assert.ok(got.subarray(4096).equals(data.subarray(100, 100 + (1 << 20))));
        assert.ok(got.subarray(0, 10).equals(data.subarray(data.length - 10)));
        assert.equal(await sys.copyFileRangeAsync(dst.fd, 0, src.fd, 0, 5), -9, 'a write-only source and read-only destination: EBADF');
        assert.equal(await sys.copyFileRangeAsync(-1, 0, dst.fd, 0, 5), -9, 'EBADF');
      } finally {
        await src.close();
        await dst.close();
      }
      const s = sys as unknown as Record<string, (...args: unknown[]) => unknown>;
      assert.throws(() => s.copyFileRangeAsync(0, -1, 1, 0, 5), TypeError);
      assert.throws(() => s.copyFileRangeAsync(0, 0, 1, 0), TypeError);
      assert.throws(() => s.copyFileRangeAsync('x', 0, 1, 0, 5), TypeError);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });
});
