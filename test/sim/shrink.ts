import { runSimulation, SimOptions, SimResult } from './simulation';

/**
 * Makes a failing run smaller while it still fails: fewer operations,
 * workers, hosts, slots and faults, each tried greedily, so that the trace
 * printed with a violation is the shortest this search finds.
 */
export async function shrink(failing: SimOptions, budget = 60): Promise<{ options: SimOptions; result: SimResult }> {
  let best = failing;
  let bestResult = await runSimulation({ ...failing, traceLines: 100_000 });
  let tries = 0;
  const candidates = (o: SimOptions): SimOptions[] => [
    { ...o, opsPerWorker: Math.floor(o.opsPerWorker / 2) },
    { ...o, opsPerWorker: o.opsPerWorker - 1 },
    { ...o, workersPerHost: o.workersPerHost - 1 },
    { ...o, hosts: o.hosts - 1 },
    { ...o, slotsPerWorker: o.slotsPerWorker - 1 },
    { ...o, maxFaults: Math.max(1, Math.floor((o.maxFaults ?? 4) / 2)) },
    { ...o, thinkMs: 0 },
  ].filter((c) => c.opsPerWorker >= 1 && c.workersPerHost >= 1 && c.hosts >= 2 && c.slotsPerWorker >= 1);
  for (let improved = true; improved && tries < budget;) {
    improved = false;
    for (const c of candidates(best)) {
      if (tries++ >= budget) break;
      const r = await runSimulation({ ...c, traceLines: 100_000 });
      if (r.violation !== undefined && r.steps < bestResult.steps) {
        best = c;
        bestResult = r;
        improved = true;
        break;
      }
    }
  }
  return { options: best, result: bestResult };
}

/** What to print for a violation: the shrunk run's options, its whole schedule and the violation. */
export function describeShrunk(s: { options: SimOptions; result: SimResult }): string {
  const { chooser: _c, onStep: _s, ...shown } = s.options;
  return [`shortest failing run found: ${JSON.stringify(shown)} (${s.result.steps} steps)`, ...s.result.trace, `violation: ${s.result.violation}`].join('\n');
}
