import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultSchedule } from '../../src/chaos/failpoints/fault-schedule';
import { Fault, FaultContext } from '../../src/chaos/failpoints/fault';
import { parseFaults } from '../../src/chaos/failpoints/fault-catalog';
import { Recorder } from '../../src/chaos/history/recorder';
import { SeededRandom } from '../../src/chaos/seeded-random';
import { silentLogger } from '../../src/common/logger';
import { isCoherdError } from '../../src/common/errors';

/** Faults that only record what they chose. */
function recordingFaults(log: string[]): Fault[] {
  return ['a', 'b', 'c'].map((name) => ({
    name,
    async inject(ctx: FaultContext) {
      const f = ctx.rec.faultStarted(name, `target-${ctx.rnd.int(0, 9)}`, `for ${ctx.rnd.int(100, 5000)} ms`);
      log.push(`${f.fault} ${f.target} ${f.detail}`);
      ctx.rec.faultEnded(f);
    },
  }));
}

async function schedule(seed: number): Promise<string[]> {
  const log: string[] = [];
  const s = new FaultSchedule({ faults: recordingFaults(log), untilMs: 60_000, maxFaults: 25, gapMs: [0, 0] });
  const ctx = { cluster: undefined, rec: new Recorder(), rnd: new SeededRandom(seed).fork('faults'), logger: silentLogger(), ttlMs: 3000 } as unknown as FaultContext;
  await s.run(ctx);
  assert.equal(ctx.rec.faults.length, 25, 'bounded by maxFaults');
  return log;
}

test('the same seed replays the same fault schedule (kinds, targets, durations); another seed does not', async () => {
  const first = await schedule(42);
  assert.deepEqual(await schedule(42), first);
  assert.notDeepEqual(await schedule(43), first);
});

test('refuses unknown fault names with the list of known ones', () => {
  assert.equal(parseFaults('all').length, 10);
  assert.deepEqual(parseFaults('kill-agent, pause-agent').map((f) => f.name), ['kill-agent', 'pause-agent']);
  assert.throws(() => parseFaults('kill-agent,meteor'), (e: unknown) => isCoherdError(e) && /unknown fault "meteor".*kill-leader/.test((e as Error).message));
});
