import { createHash } from 'node:crypto';
import { runSimulation, SimOptions, SimResult } from './simulation';

export interface ExploreOptions {
  /** Choices up to this step are enumerated; after it the earliest event runs. */
  depth: number;
  /** Stop after this many schedules. */
  maxSchedules: number;
  /** Stop after this long (wall time); the search reports how far it got. */
  maxMs: number;
  scenario: Omit<SimOptions, 'chooser' | 'seed' | 'onStep'>;
}

export interface ExploreResult {
  schedules: number;
  /** Distinct protocol states seen (coordinator table + hosts' beliefs + dirty bytes). */
  states: number;
  depth: number;
  /** True when every interleaving up to `depth` was run. */
  complete: boolean;
  violation?: { choices: number[]; result: SimResult };
}

/**
 * Bounded exhaustive search of interleavings: a depth-first walk over the
 * scheduler's choices (which message, store completion or timer runs
 * next) for the first `depth` steps of the workload, each schedule replayed
 * from the start (the state lives in real promises and cannot be copied).
 * A violation comes with its choice sequence, which replays it exactly.
 */
export async function explore(o: ExploreOptions): Promise<ExploreResult> {
  const started = Date.now();
  const states = new Set<string>();
  const stack: number[][] = [[]];
  let schedules = 0;
  while (stack.length > 0) {
    if (schedules >= o.maxSchedules || Date.now() - started > o.maxMs) {
      return { schedules, states: states.size, depth: o.depth, complete: false };
    }
    const prefix = stack.pop() as number[];
    const taken: number[] = [];
    const result = await runSimulation({
      ...o.scenario,
      seed: 1,
      chooser: (candidates) => {
        const k = taken.length;
        const choice = k < prefix.length ? Math.min(prefix[k], candidates.length - 1) : 0;
        taken.push(choice);
        return choice;
      },
      onStep: (key) => { states.add(createHash('sha1').update(key()).digest('base64')); },
    });
    schedules++;
    if (result.violation) return { schedules, states: states.size, depth: o.depth, complete: false, violation: { choices: taken, result } };
    const limit = Math.min(o.depth, result.branching.length);
    for (let k = limit - 1; k >= prefix.length; k--) {
      for (let alt = result.branching[k] - 1; alt >= 1; alt--) stack.push([...taken.slice(0, k), alt]);
    }
  }
  return { schedules, states: states.size, depth: o.depth, complete: true };
}
