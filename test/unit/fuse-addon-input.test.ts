import assert from 'node:assert/strict';
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
});
