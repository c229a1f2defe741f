import { explore } from './explore';
import { EXPLORE_SCENARIO, replayHint, scenarioFor } from './scenarios';
import { runSimulation, SimOptions } from './simulation';
import { describeShrunk, shrink } from './shrink';

/**
 * The long mode of the protocol simulation (`npm run sim`): many seeded
 * random runs with and without faults, then the bounded exhaustive search
 * at a greater depth. `--seed N [--faults]` replays one run and prints its
 * schedule. Exits non-zero on the first violation, printing its seed.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  if (args.includes('--seed')) {
    const seed = value('--seed', 1);
    const r = await runSimulation({ ...scenarioFor(seed, args.includes('--faults')), traceLines: 100_000 });
    console.log(r.trace.join('\n'));
    console.log(r.violation ?? `seed ${seed}: no violation (${r.steps} steps, ${r.ops} operations, faults ${JSON.stringify(r.faults)})`);
    process.exit(r.violation ? 1 : 0);
  }
  const seeds = value('--seeds', 2000);
  const depth = value('--depth', 6);
  const started = Date.now();
  const faults: Record<string, number> = {};
  let ops = 0;
  let steps = 0;
  // Per seed: no faults, the default faults, and hosts cut off across failovers ('isolate', opt-in so the
  // default runs keep their schedules).
  const ISOLATE: Partial<SimOptions> = { faultKinds: ['isolate', 'failover', 'break'], maxFaults: 6 };
  // And with h0's kernel caching the file (noDirect acquires), with faults.
  const KERNEL: Partial<SimOptions> = { kernelCachingHost: true };
  for (let seed = 1; seed <= seeds; seed++) {
    for (const [withFaults, extra] of [[false, {}], [true, {}], [true, ISOLATE], [true, KERNEL]] as const) {
      const r = await runSimulation({ ...scenarioFor(seed, withFaults), ...extra });
      if (r.violation) {
        if (extra === ISOLATE || extra === KERNEL) console.log(`VIOLATION seed ${seed} with ${JSON.stringify(extra)}: ${r.violation}\nreplay: runSimulation({ ...scenarioFor(${seed}, true), ...${JSON.stringify(extra)} })`);
        else console.log(describeShrunk(await shrink(scenarioFor(seed, withFaults))));
        if (extra !== ISOLATE && extra !== KERNEL) console.log(`VIOLATION seed ${seed}${withFaults ? ' with faults' : ''}: ${r.violation}\n${replayHint(seed, withFaults)}`);
        process.exit(1);
      }
      ops += r.ops;
      steps += r.steps;
      for (const [k, n] of Object.entries(r.faults)) faults[k] = (faults[k] ?? 0) + n;
    }
    if (seed % 100 === 0) console.error(`${seed} seeds, ${Math.round((Date.now() - started) / 1000)} s`);
  }
  console.log(`random runs: ${seeds * 4} (${seeds} seeds: no faults, faults, isolate faults, faults with a kernel-caching host), ${steps} steps, ${ops} operations, faults ${JSON.stringify(faults)}, ${Math.round((Date.now() - started) / 1000)} s`);
  const t1 = Date.now();
  const x = await explore({ depth, maxSchedules: 1_000_000, maxMs: 60 * 60 * 1000, scenario: EXPLORE_SCENARIO });
  if (x.violation) {
    console.log(x.violation.result.trace.join('\n'));
    console.log(`VIOLATION in exploration, choices ${JSON.stringify(x.violation.choices)}: ${x.violation.result.violation}`);
    process.exit(1);
  }
  console.log(`exhaustive: depth ${x.depth}, ${x.schedules} schedules, ${x.states} distinct states, complete ${x.complete}, ${Math.round((Date.now() - t1) / 1000)} s`);
}

void main();
