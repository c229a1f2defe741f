import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { msOfTimeSpec, setTimesNoFollow, timeSpecOfMs, timeSpecOfNs } from '../../src/agent/backing/backing-times';

describe('file times to the nanosecond (utimens)', () => {
  it('splits nanoseconds since the epoch into whole seconds and nanoseconds, before 1970 too', () => {
    assert.deepEqual(timeSpecOfNs(1700000000123456789n), { sec: 1700000000, nsec: 123456789 });
    assert.deepEqual(timeSpecOfNs(-1n), { sec: -1, nsec: 999999999 });
    assert.deepEqual(timeSpecOfNs(-1000000000n), { sec: -1, nsec: 0 });
  });

  it('turns JS milliseconds into a spec and back', () => {
    assert.deepEqual(timeSpecOfMs(1500), { sec: 1, nsec: 500000000 });
    assert.deepEqual(timeSpecOfMs(-1), { sec: -1, nsec: 999000000 });
    assert.equal(msOfTimeSpec({ sec: 2, nsec: 250000000 }), 2250);
  });

  it('refuses a spec whose nanoseconds are out of range, or that is no spec, before any system call', async () => {
    const bad = [{ sec: 1, nsec: 1e9 }, { sec: 1, nsec: -1 }, { sec: 1.5, nsec: 0 }, { sec: 1e13, nsec: 0 }, 'now'];
    for (const atime of bad) {
      await assert.rejects(setTimesNoFollow('/nonexistent/coherd-test', { atimeMs: 0, mtimeMs: 0, atime: atime as never, mtime: { sec: 0, nsec: 0 } }), { name: 'InvalidArgumentError', message: /nsec in \[0, 999999999\]/ });
    }
  });
});
