import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError, InternalError, LockConflictError } from '../../src/common/errors';
import { errnoNameOf } from '../../src/common/errno-table';
import { compose } from '../../src/agent/hooks/compose';
import { Hook, Terminal, Vop, VopOf } from '../../src/agent/vop';

function readVop(signal = new AbortController().signal): VopOf<'read'> {
  return { op: 'read', path: '/f', ino: 7, args: { fh: 1, buffer: Buffer.alloc(4), length: 4, offset: 0 }, signal };
}

function recorder(name: string, log: string[]): Hook {
  return async (vop, next) => {
    log.push(`${name}>`);
    const result = await next(vop);
    log.push(`<${name}`);
    return result;
  };
}

describe('compose', () => {
  it('runs hooks outermost first around the terminal and returns its result', async () => {
    const log: string[] = [];
    const terminal: Terminal = async () => { log.push('terminal'); return 4; };
    const run = compose([recorder('journal', log), recorder('coherency', log), recorder('rangeLock', log)], terminal);
    assert.equal(await run(readVop()), 4);
    assert.deepEqual(log, ['journal>', 'coherency>', 'rangeLock>', 'terminal', '<rangeLock', '<coherency', '<journal']);
  });

  it('with no hooks runs the terminal alone', async () => {
    const run = compose([], async (vop) => (vop.op === 'read' ? 9 : 0));
    assert.equal(await run(readVop()), 9);
  });

  it('passes the vop a hook hands to next, and outer hooks see fields set in place', async () => {
    let seenOffset = -1;
    let seenToken: unknown;
    const outer: Hook = async (vop, next) => { const r = await next(vop); seenToken = vop.fencingToken; return r; };
    const rewrite: Hook = (vop, next) => {
      vop.fencingToken = { epoch: 3, counter: 5 };
      return next(vop.op === 'read' ? { ...vop, args: { ...vop.args, offset: 100 } } : vop);
    };
    const run = compose([outer, rewrite], async (vop: Vop) => { if (vop.op === 'read') seenOffset = vop.args.offset; return 0; });
    await run(readVop());
    assert.equal(seenOffset, 100);
    assert.deepEqual(seenToken, { epoch: 3, counter: 5 });
  });

  it('lets a hook short-circuit without calling the terminal', async () => {
    let called = false;
    const cache: Hook = async () => 42;
    const run = compose([cache], async () => { called = true; return 0; });
    assert.equal(await run(readVop()), 42);
    assert.equal(called, false);
  });

  it('propagates a domain error from the terminal through every hook unchanged', async () => {
    const seen: unknown[] = [];
    const observe: Hook = async (vop, next) => { try { return await next(vop); } catch (e) { seen.push(e); throw e; } };
    const err = new LockConflictError('LOCK_CONFLICT', 'busy');
    const run = compose([observe, observe], async () => { throw err; });
    await assert.rejects(run(readVop()), (e) => e === err);
    assert.deepEqual(seen, [err, err]);
    assert.equal(errnoNameOf(err), 'EAGAIN');
  });

  it('turns a synchronous throw in a hook or terminal into a rejection', async () => {
    const throwing: Hook = () => { throw new Error('sync boom'); };
    await assert.rejects(compose([throwing], async () => 0)(readVop()), /sync boom/);
    await assert.rejects(compose([], () => { throw new Error('terminal boom'); })(readVop()), /terminal boom/);
  });

  it('rejects a second call of next with InternalError and runs the rest once', async () => {
    let terminalCalls = 0;
    const twice: Hook = async (vop, next) => { await next(vop); return next(vop); };
    const run = compose([twice], async () => { terminalCalls++; return 0; });
    await assert.rejects(run(readVop()), (e) => e instanceof InternalError);
    assert.equal(terminalCalls, 1);
  });

  it('does not start a vop whose signal is already aborted (EINTR)', async () => {
    const ac = new AbortController();
    ac.abort();
    let called = false;
    const run = compose([async (v, next) => { called = true; return next(v); }], async () => 0);
    await assert.rejects(run(readVop(ac.signal)), (e) => e instanceof CancelledError && errnoNameOf(e) === 'EINTR');
    assert.equal(called, false);
  });

  it('stops before the terminal when a hook waits and the signal aborts meanwhile', async () => {
    const ac = new AbortController();
    let terminalCalled = false;
    let grant!: () => void;
    const granted = new Promise<void>((resolve) => { grant = resolve; });
    const waitsForToken: Hook = async (vop, next) => {
      await granted;
      return next(vop);
    };
    const run = compose([waitsForToken], async () => { terminalCalled = true; return 0; });
    const p = run(readVop(ac.signal));
    ac.abort();
    grant();
    await assert.rejects(p, (e) => e instanceof CancelledError);
    assert.equal(terminalCalled, false);
  });

  it('gives hooks the signal so a waiting hook can give up on abort', async () => {
    const ac = new AbortController();
    const waitsUntilAborted: Hook = (vop) => new Promise((_, reject) => {
      vop.signal.addEventListener('abort', () => reject(new CancelledError('CANCELLED', 'gave up')), { once: true });
    });
    const p = compose([waitsUntilAborted], async () => 0)(readVop(ac.signal));
    ac.abort();
    await assert.rejects(p, /gave up/);
  });

  it('rejects a hook list that contains a non-function', () => {
    assert.throws(() => compose([undefined as unknown as Hook], async () => 0), InternalError);
  });
});
