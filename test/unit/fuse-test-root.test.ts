import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { describe, it } from 'node:test';
import { FUSE_TEST_PREFIX, makeFuseTestRoot, testRootOf } from '../support/fuse-mount';

/**
 * The sweep of leftover test mounts (sweepLeftoverMounts) leaves a mount
 * alone while the process named in its root's owner.pid lives. It found
 * that record under path.join(prefix, rest), a directory that never
 * exists ('/tmp/coherd-fuse-test-/AbC123'), so it probed every live test
 * mount and detached the ones whose agent was stopped or fenced: an agent
 * of agent-page-cache-fence.test.ts then answered ENOENT for files that
 * exist (docs/fuse.md, "Seen on the way").
 */
describe('the test root of a mount point', () => {
  it('is the prefix plus the rest of the first component, as mkdtemp made it', () => {
    assert.equal(testRootOf('/tmp/coherd-fuse-test-AbC123/mnt-0', '/tmp/coherd-fuse-test-'), '/tmp/coherd-fuse-test-AbC123');
    assert.equal(testRootOf('/tmp/coherd-chaos-x1/agents/a-0/mnt', '/tmp/coherd-chaos-'), '/tmp/coherd-chaos-x1');
    assert.equal(testRootOf('/tmp/coherd-fuse-test-AbC123', '/tmp/coherd-fuse-test-'), '/tmp/coherd-fuse-test-AbC123');
  });

  it('is none for a mount point outside the prefix or the prefix itself', () => {
    assert.equal(testRootOf('/mnt/coherd/mnt-0', '/tmp/coherd-fuse-test-'), undefined);
    assert.equal(testRootOf('/tmp/coherd-fuse-test-', '/tmp/coherd-fuse-test-'), undefined);
    assert.equal(testRootOf('/tmp/coherd-fuse-test-/mnt', '/tmp/coherd-fuse-test-'), undefined);
  });

  it('holds the owner record of a root made by makeFuseTestRoot, found from a mount point below it', async () => {
    const root = await makeFuseTestRoot();
    try {
      const found = testRootOf(nodePath.join(root, 'mnt-0'), FUSE_TEST_PREFIX);
      assert.equal(found, root);
      assert.equal(await fsp.readFile(nodePath.join(found!, 'owner.pid'), 'utf8'), String(process.pid));
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });
});
