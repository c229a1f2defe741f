import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explore } from '../sim/explore';
import { MUTATIONS, Mutation } from '../sim/mutations';
import { EXPLORE_SCENARIO, replayHint, scenarioFor } from '../sim/scenarios';
import { conflictingBeliefs } from '../sim/sim-checks';
import { runSimulation, SimOptions } from '../sim/simulation';
import { describeShrunk, shrink } from '../sim/shrink';

/**
 * The token protocol under a deterministic simulation (test/sim): the real
 * coordinator and agent code over a seeded network. Short budget here;
 * `npm run sim` runs the long mode. A failure names its seed and replay
 * command and prints the end of its schedule.
 */
async function runSeeds(from: number, count: number, faults: boolean, extra: Partial<SimOptions> = {}): Promise<{ ops: number; directOps: number; faults: Record<string, number> }> {
  const total = { ops: 0, directOps: 0, faults: {} as Record<string, number> };
  for (let seed = from; seed < from + count; seed++) {
    const r = await runSimulation(scenarioFor(seed, faults, extra));
    if (r.violation !== undefined) {
      const shrunk = await shrink(scenarioFor(seed, faults, extra));
      assert.fail(`seed ${seed}: ${r.violation}\n${replayHint(seed, faults)}\n${describeShrunk(shrunk)}`);
    }
    total.ops += r.ops;
    total.directOps += r.directOps;
    for (const [k, n] of Object.entries(r.faults)) total.faults[k] = (total.faults[k] ?? 0) + n;
  }
  return total;
}

test('two and three hosts that read one file and then write it at once stay coherent, lose nothing and are never evicted', async (t) => {
  const r = await runSeeds(1, 60, false);
  t.diagnostic(`60 seeded runs, ${r.ops} operations, ${r.directOps} of them under DIRECT tokens`);
  assert.ok(r.directOps > 0, 'no run reached direct mode: the checks say nothing about it');
});

test('the same holds through broken streams, coordinator failovers and hosts paused past their lease', async (t) => {
  const r = await runSeeds(1001, 80, true);
  t.diagnostic(`80 seeded runs, ${r.ops} operations, faults ${JSON.stringify(r.faults)}`);
  assert.ok((r.faults.break ?? 0) > 0 && (r.faults.failover ?? 0) > 0 && (r.faults.pause ?? 0) > 0, 'every kind of fault was injected');
});

test('a host whose kernel caches the file is never granted DIRECT: the other hosts\' DIRECT tokens and its caching ones revoke each other, coherently', async (t) => {
  const quiet = await runSeeds(1, 40, false, { kernelCachingHost: true });
  const faulty = await runSeeds(1001, 40, true, { kernelCachingHost: true });
  t.diagnostic(`80 seeded runs, ${quiet.ops + faulty.ops} operations, ${quiet.directOps + faulty.directOps} of them under DIRECT tokens (other hosts)`);
  assert.ok(quiet.directOps + faulty.directOps > 0, 'no run reached direct mode: the rule was not exercised');
});

/**
 * Seeds that once found a bug, replayed as they are. Each fails on the code
 * before its fix (checked when it was added).
 */
const FOUND_BY_SEED: readonly { seed: number; faults: boolean; bug: string; extra?: Partial<SimOptions> }[] = [
  { seed: 1050, faults: true, bug: 'a release for the old leader\'s lock id, resent to the new leader, gave up a new lock of the same id' },
  { seed: 697, faults: true, bug: 'a range flush wrote one page of a record across a page boundary; its host died before the rest: a torn record' },
  {
    seed: 29, faults: true, extra: { faultKinds: ['isolate', 'failover', 'break'], maxFaults: 6 },
    bug: 'a host cut off past its deadline kept resuming its old session after it had opened a new one, and took the new session\'s stream: it believed a grant the coordinator did not have',
  },
  {
    seed: 706, faults: true, extra: { faultKinds: ['isolate', 'failover', 'break'], maxFaults: 6 },
    bug: 'messages of a stream that resumed the replaced session reached the new one; their sequence numbers made it drop its own replies and an operation waited forever',
  },
  {
    seed: 1341, faults: true, extra: { kernelCachingHost: true },
    bug: 'a reclaim whose answers were lost with its stream, at a leader that had finished it, held the lease back for good: the responsive host lost its session at the old deadline',
  },
];

for (const { seed, faults, bug, extra } of FOUND_BY_SEED) {
  test(`seed ${seed} runs clean (it found: ${bug})`, async () => {
    const r = await runSimulation({ ...scenarioFor(seed, faults), ...extra });
    assert.equal(r.violation, undefined, `${r.violation}\n${replayHint(seed, faults)}`);
  });
}

test('every interleaving of two hosts\' first steps keeps the clients\' view safe (bounded exhaustive search)', async (t) => {
  const r = await explore({ depth: 4, maxSchedules: 5000, maxMs: 120_000, scenario: EXPLORE_SCENARIO });
  assert.equal(r.violation, undefined, r.violation && `choices ${JSON.stringify(r.violation.choices)}: ${r.violation.result.violation}\n${r.violation.result.trace.join('\n')}`);
  assert.equal(r.complete, true, 'the search finished within its budget');
  t.diagnostic(`depth ${r.depth}: ${r.schedules} schedules, ${r.states} distinct states`);
});

/** Where each planted bug is expected to show, and under which runs it shows quickly. */
const PLANTED: Record<Mutation, { shows: RegExp; extra?: Partial<SimOptions>; faults: boolean }> = {
  'shrink-after-answer': { shows: /two hosts believe conflicting tokens/, faults: false },
  'skip-invalidate': { shows: /stale read|cached under DIRECT/, faults: false, extra: { thinkMs: 400, slotStride: 4096 } },
  'skip-flush': { shows: /acknowledged write lost|stale read/, faults: false },
  // A read still in flight when the early answer turned the token DIRECT caches its page under DIRECT (seed 4 once
  // a new file's two acquires travel as one AcquireBatch).
  'early-answer': { shows: /stale read|acknowledged write lost|two hosts believe|cached under DIRECT/, faults: false },
  'lose-riding-releases': { shows: /responsive host evicted/, faults: true, extra: { faultKinds: ['break'], maxFaults: 12 } },
  'cached-read-under-direct': { shows: /cached under DIRECT|stale read/, faults: false },
  'direct-beside-write': { shows: /two hosts believe conflicting tokens/, faults: false },
  'drop-no-direct': { shows: /kernel caches the file, yet it holds DIRECT/, faults: false, extra: { kernelCachingHost: true } },
};

for (const mutation of MUTATIONS) {
  test(`the simulation catches a planted bug: ${mutation}`, async (t) => {
    const plan = PLANTED[mutation];
    for (let seed = 1; seed <= 120; seed++) {
      const r = await runSimulation(scenarioFor(seed, plan.faults, { ...plan.extra, mutation }));
      if (r.violation === undefined) continue;
      assert.match(r.violation, plan.shows, `seed ${seed} failed otherwise than expected`);
      const shrunk = await shrink(scenarioFor(seed, plan.faults, { ...plan.extra, mutation }), 20);
      assert.ok(shrunk.result.violation !== undefined && shrunk.result.steps <= r.steps, 'the shrunk run still fails and is no longer');
      t.diagnostic(`caught at seed ${seed} in ${r.steps} steps; shrunk to ${shrunk.result.steps} steps`);
      return;
    }
    assert.fail(`no run of 120 caught ${mutation}`);
  });
}

test('the belief check finds two hosts that both believe WRITE on overlapping bytes, and accepts shared readers', () => {
  const b = (host: string, mode: string, start: number, end: number) => ({ host, lockId: 1, resource: 'ns/1', space: 'data', mode, start, end });
  assert.match(conflictingBeliefs([b('a', 'WRITE', 0, 10), b('b', 'WRITE', 5, 6)]) ?? '', /a believes WRITE \[0, 10\)/);
  assert.match(conflictingBeliefs([b('a', 'READ', 0, 10), b('b', 'WRITE', 9, 20)]) ?? '', /conflicting|believes/);
  assert.equal(conflictingBeliefs([b('a', 'READ', 0, 10), b('b', 'READ', 0, 10), b('a', 'WRITE', 20, 30), b('b', 'WRITE', 30, 40)]), undefined);
});
