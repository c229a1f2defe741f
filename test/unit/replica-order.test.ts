import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JournalRecord } from '../../src/agent/journal/journal-record';
import { AppliedHistory } from '../../src/replica/applied-history';
import { checkOrder, pendingOf, PendingRecord, planApply } from '../../src/replica/apply-order';

function write(sequence: number, ino: number, offset: number, length: number, counter: number | null): JournalRecord {
  return {
    namespace: 'ns', ino, op: 'write', path: `/f${ino}`, sequence, timeMs: 0,
    fencingToken: counter === null ? null : { epoch: 1, counter },
    args: { data: { length }, offset },
  };
}

function truncate(sequence: number, ino: number, counter: number): JournalRecord {
  return { namespace: 'ns', ino, op: 'truncate', path: `/f${ino}`, sequence, timeMs: 0, fencingToken: { epoch: 1, counter }, args: { size: 0 } };
}

/** A rename from directory 1 to directory 2 holding both dir tokens. */
function rename(sequence: number, ino: number, srcDir: [number, number], destDir: [number, number]): JournalRecord {
  return {
    namespace: 'ns', ino, parentIno: srcDir[0], op: 'rename', path: '/a/x', sequence, timeMs: 0,
    fencingToken: { epoch: 1, counter: srcDir[1] }, args: { dest: '/b/x', destParentIno: destDir[0] },
    resourceTokens: [{ ino: srcDir[0], space: 'dir', token: { epoch: 1, counter: srcDir[1] } }, { ino: destDir[0], space: 'dir', token: { epoch: 1, counter: destDir[1] } }],
  };
}

function create(sequence: number, dir: number, counter: number): JournalRecord {
  return {
    namespace: 'ns', ino: 900 + sequence, parentIno: dir, op: 'create', path: '/b/x', sequence, timeMs: 0,
    fencingToken: { epoch: 1, counter }, args: { mode: 0o644 },
    resourceTokens: [{ ino: dir, space: 'dir', token: { epoch: 1, counter } }],
  };
}

/** An unlink of file `ino` in `dir`: dir WRITE on the parent (often held for long), attr and data WRITE on the file. */
function unlink(sequence: number, ino: number, dir: [number, number], fileCounter: number): JournalRecord {
  const t = (counter: number) => ({ epoch: 1, counter });
  return {
    namespace: 'ns', ino, parentIno: dir[0], op: 'unlink', path: '/f', sequence, timeMs: 0, fencingToken: t(dir[1]), args: {},
    resourceTokens: [{ ino: dir[0], space: 'dir', token: t(dir[1]) }, { ino, space: 'attr', token: t(fileCounter) }, { ino, space: 'data', token: t(fileCounter) }],
  };
}

/** A create of `ino` in `dir` under the parent's dir token (the number may be one the backing store reused). */
function createIno(sequence: number, ino: number, dir: [number, number]): JournalRecord {
  return { ...create(sequence, dir[0], dir[1]), ino, path: '/f' };
}

const p = (agent: string, r: JournalRecord, round = 1): PendingRecord => pendingOf(agent, r, round, 100);
const ids = (order: PendingRecord[]) => order.map((x) => `${x.agentId}${x.record.sequence}`);

describe('replica ordering rule', () => {
  it('applies conflicting writes of different hosts by fencing token, whatever order they were read in', () => {
    const pending = [p('B', write(1, 7, 0, 10, 20)), p('A', write(1, 7, 5, 10, 10))];
    assert.deepEqual(ids(planApply(pending, 1).order), ['A1', 'B1']);
  });

  it('keeps one host\'s records in sequence order even when its tokens go down (tokens of other files)', () => {
    const pending = [p('A', write(1, 7, 0, 10, 30)), p('A', write(2, 8, 0, 10, 5))];
    assert.deepEqual(ids(planApply(pending, 1).order), ['A1', 'A2']);
  });

  it('does not order writes to disjoint ranges by token (no false cycle between two hosts)', () => {
    // A: file 7 [0,10) token 10, then file 8 [0,10) token 3; B: file 8 [100,110) token 5, then file 7 [100,110) token 2.
    const pending = [p('A', write(1, 7, 0, 10, 10)), p('A', write(2, 8, 0, 10, 3)), p('B', write(1, 8, 100, 10, 5)), p('B', write(2, 7, 100, 10, 2))];
    const plan = planApply(pending, 1);
    assert.equal(plan.forced, 0);
    assert.deepEqual(checkOrder(plan.order), []);
  });

  it('orders a truncate racing a write by their data tokens', () => {
    const pending = [p('A', write(1, 7, 4096, 100, 12)), p('B', truncate(1, 7, 11))];
    assert.deepEqual(ids(planApply(pending, 1).order), ['B1', 'A1']);
  });

  it('orders a rename across directories against a create in the destination by the destination\'s dir token', () => {
    // The rename held dir 1 with an old token (3) and dir 2 with a new one (40): the create in dir 2 (token 25) came first.
    const pending = [p('A', rename(1, 50, [1, 3], [2, 40])), p('B', create(1, 2, 25))];
    assert.deepEqual(ids(planApply(pending, 1).order), ['B1', 'A1']);
  });

  it('holds back records of the round just read, and pulls in what must precede the ones it applies', () => {
    // Round 2 holds B's earlier-token write; A's round-1 write conflicts with it, so both go, B's first.
    const pending = [p('A', write(1, 7, 0, 10, 20), 1), p('B', write(1, 7, 0, 10, 15), 2), p('B', write(2, 9, 0, 1, 16), 2)];
    assert.deepEqual(ids(planApply(pending, 1).order), ['B1', 'A1']);
    assert.deepEqual(ids(planApply([p('C', write(1, 7, 0, 1, 1), 2)], 1).order), []);
  });

  it('catches planted reorderings: a host going back in sequence, conflicting writes against token order', () => {
    const a1 = { agentId: 'A', record: write(1, 7, 0, 10, 10) };
    const a2 = { agentId: 'A', record: write(2, 8, 0, 10, 11) };
    const b1 = { agentId: 'B', record: write(1, 7, 5, 10, 20) };
    assert.deepEqual(checkOrder([a1, a2, b1]), []);
    const swappedHost = checkOrder([a2, a1, b1]);
    assert.equal(swappedHost.length, 1);
    assert.equal(swappedHost[0].reason, 'sequence goes back');
    const againstToken = checkOrder([b1, a1, a2]);
    assert.deepEqual(againstToken.map((v) => v.reason), ['conflicting records applied against fencing-token order']);
    // The planner never produces either of them, from any read order.
    for (const perm of [[a2, b1, a1], [b1, a2, a1], [b1, a1, a2]]) {
      assert.deepEqual(checkOrder(planApply(perm.map((x) => p(x.agentId, x.record)), 1).order), []);
    }
  });

  it('flags a record that arrives after a conflicting record with a later token was applied', () => {
    const history = new AppliedHistory();
    history.add(p('B', write(1, 7, 0, 10, 20)));
    assert.deepEqual(history.lateAgainst(p('A', write(1, 7, 5, 10, 10))), { agentId: 'B', sequence: 1 });
    assert.equal(history.lateAgainst(p('A', write(1, 7, 50, 10, 10))), undefined, 'disjoint range');
    assert.equal(history.lateAgainst(p('A', write(1, 7, 5, 10, 30))), undefined, 'later token');
    assert.equal(history.lateAgainst(p('B', write(2, 7, 5, 10, 10))), undefined, 'same host');
  });

  it('applies another host\'s write to a new file after its create, though no token orders them and the inode number was reused', () => {
    // A wrote file 7, unlinked it and made a new file that got number 7 again; B then wrote the new file.
    const pending = [p('B', write(1, 7, 0, 5, 9)), p('A', write(1, 7, 0, 3, 2)), p('A', unlink(2, 7, [1, 3], 4)), p('A', createIno(3, 7, [1, 3]))];
    const plan = planApply(pending, 1);
    assert.deepEqual(ids(plan.order), ['A1', 'A2', 'A3', 'B1']);
    assert.equal(plan.forced, 0);
  });

  it('keeps a write to a number\'s previous file before the unlink that freed it, though it carries a later token than the new create', () => {
    // A's dir token (1) is older than B's write to the first file 7 (5): the hard rule (B1 before the unlink) wins.
    const pending = [p('B', write(1, 7, 0, 5, 5)), p('B', write(2, 7, 0, 5, 8)), p('A', createIno(1, 7, [1, 1])), p('A', unlink(2, 7, [1, 1], 6)), p('A', createIno(3, 7, [1, 1]))];
    const plan = planApply(pending, 1);
    assert.deepEqual(ids(plan.order), ['A1', 'B1', 'A2', 'A3', 'B2']);
    assert.equal(plan.forced, 0);
  });

  it('orders records without a token by their host\'s sequence only', () => {
    const pending = [p('B', write(1, 7, 0, 10, null)), p('A', write(1, 7, 0, 10, null))];
    const plan = planApply(pending, 1);
    assert.equal(plan.order.length, 2);
    assert.equal(plan.forced, 0);
  });
});
