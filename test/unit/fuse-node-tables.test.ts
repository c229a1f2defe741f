import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PathNodeTable } from '../../src/agent/fuse/ll/path-node-table';

describe('the agent mount\'s node table', () => {
  it('keeps a node while the kernel holds lookup references, then forgets it (never the root)', () => {
    const t = new PathNodeTable(100);
    const a = t.ref(7, '/a');
    assert.equal(t.ref(7, '/a').id, a.id);
    t.forget(a.id, 1);
    assert.equal(t.get(a.id)?.nlookup, 1);
    t.forget(a.id, 5);
    assert.equal(t.get(a.id), undefined);
    assert.notEqual(t.ref(7, '/a').id, a.id, 'ids are never reused');
    t.forget(1, 10);
    assert.equal(t.get(1)?.path, '/');
  });

  it('gives an inode another host moved a second node, invalidates both, and keeps the newest until both are forgotten', () => {
    const t = new PathNodeTable(100);
    const old = t.ref(7, '/a');
    const moved = t.refMoved(7, '/b');
    assert.notEqual(moved.id, old.id, 'the kernel must see two inodes: the old name may still be cached');
    assert.equal(t.byBackingIno(7), moved);
    assert.deepEqual(t.nodesOf(7).map((n) => n.id).sort(), [old.id, moved.id].sort());
    t.forget(moved.id, 1);
    assert.equal(t.byBackingIno(7), old, 'the older node is what the kernel still knows');
    assert.deepEqual(t.nodesOf(7), [old]);
    t.forget(old.id, 1);
    assert.deepEqual(t.nodesOf(7), []);
  });

  it('moves a renamed subtree, and swaps two subtrees on RENAME_EXCHANGE', () => {
    const t = new PathNodeTable(100);
    const d1 = t.ref(1001, '/d1'), f1 = t.ref(1002, '/d1/f'), d2 = t.ref(2001, '/d2'), f2 = t.ref(2002, '/d2/g/h'), other = t.ref(3001, '/d10');
    t.exchanged('/d1', '/d2');
    assert.deepEqual([d1.path, f1.path, d2.path, f2.path, other.path], ['/d2', '/d2/f', '/d1', '/d1/g/h', '/d10']);
    t.moved('/d1', '/e');
    assert.deepEqual([d2.path, f2.path, other.path], ['/e', '/e/g/h', '/d10']);
  });
  it('remembers hard links a lookup found, and gives the node another of them when its path is unlinked', async () => {
    const t = new PathNodeTable(100);
    const n = t.ref(7, '/d/a');
    t.refLinked(7, '/d/b'); // /d/a was checked to lead to inode 7 too
    t.refLinked(7, '/d/c');
    assert.equal(n.path, '/d/c');
    assert.deepEqual(t.linksOf(n).sort(), ['/d/a', '/d/b']);
    const alive = new Set(['/d/b']);
    await t.unlinked('/d/a', async () => true); // a link, not the path: forgotten
    assert.deepEqual(t.linksOf(n), ['/d/b']);
    await t.unlinked('/d/c', async (p, ino) => ino === 7 && alive.has(p));
    assert.equal(n.path, '/d/b');
    assert.deepEqual(t.linksOf(n), []);
    await t.unlinked('/d/b', async () => false); // no link left: the node keeps the gone path, as one without links
    assert.equal(n.path, '/d/b');
  });

  it('drops a link that no longer leads to the inode, and moves links with a renamed directory', async () => {
    const t = new PathNodeTable(100);
    const n = t.ref(7, '/d/a');
    t.refLinked(7, '/d/b');
    t.refLinked(7, '/e/c');
    t.moved('/d', '/x');
    assert.equal(n.path, '/e/c');
    assert.deepEqual(t.linksOf(n).sort(), ['/x/a', '/x/b']);
    await t.unlinked('/e/c', async (p) => p === '/x/b'); // /x/a was replaced meanwhile: dropped, /x/b takes over
    assert.equal(n.path, '/x/b');
    assert.deepEqual(t.linksOf(n), []);
    t.forget(n.id, n.nlookup);
    await t.unlinked('/x/b', async () => { throw new Error('a forgotten node is not looked at'); });
  });
});
