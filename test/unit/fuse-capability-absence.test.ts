import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CapabilityAbsence } from '../../src/agent/fuse/ll/capability-absence';
import type { PathNode } from '../../src/agent/fuse/ll/path-node-table';

/** Which nodes a getxattr of security.capability may be answered for without the store (capability-absence.ts). */
const node = (id: number) => ({ id, ino: id * 10 }) as unknown as PathNode;

function fixture() {
  let held = true;
  let tokenGen = 0;
  const caps = new CapabilityAbsence(() => {
    const gen = tokenGen;
    return held ? { holds: () => held && gen === tokenGen } : undefined;
  });
  return { caps, revoke: () => { tokenGen++; }, drop: () => { held = false; }, hold: () => { held = true; } };
}

describe('capability absence under the attr token', () => {
  it('remembers an absence the store gave under a held attr token, until that token goes', () => {
    const f = fixture();
    const before = f.caps.before(node(1));
    f.caps.noteAbsent(node(1), before);
    assert.equal(f.caps.known(node(1)), true);
    assert.equal(f.caps.known(node(2)), false, 'another node was never asked');
    f.revoke(); // another host's attr WRITE took the token (then this host got a new one)
    assert.equal(f.caps.known(node(1)), false);
  });

  it('keeps nothing without an attr token, or when the token went while the store was asked', () => {
    const f = fixture();
    f.drop();
    f.caps.noteAbsent(node(1), f.caps.before(node(1)));
    assert.equal(f.caps.known(node(1)), false, 'no token when asked');
    f.hold();
    const before = f.caps.before(node(1));
    f.revoke();
    f.caps.noteAbsent(node(1), before);
    assert.equal(f.caps.known(node(1)), false, 'the token went meanwhile');
  });

  it('forgets a node this host sets or removes the xattr of, and keeps no answer given while that ran', () => {
    const f = fixture();
    f.caps.noteAbsent(node(1), f.caps.before(node(1)));
    f.caps.forget(node(1));
    assert.equal(f.caps.known(node(1)), false);
    const before = f.caps.before(node(1));
    f.caps.forget(node(1)); // a local setxattr began after the getxattr asked the store
    f.caps.noteAbsent(node(1), before);
    assert.equal(f.caps.known(node(1)), false);
  });
});
