import { runSimulation } from './simulation';

async function main(): Promise<void> {
  const from = Number(process.argv[2] ?? 1);
  const n = Number(process.argv[3] ?? 5);
  const faults = process.argv[4] === 'faults';
  const mutation = (process.argv[5] || undefined) as never;
  const kinds = process.argv[6] ? (process.argv[6].split(',') as never) : undefined;
  const maxFaults = process.argv[7] ? Number(process.argv[7]) : undefined;
  for (let seed = from; seed < from + n; seed++) {
    const t0 = Date.now();
    const r = await runSimulation({ seed, hosts: 2 + (seed % 2), slotsPerWorker: 3, workersPerHost: 2, opsPerWorker: 20, faults, faultKinds: kinds, maxFaults, slotStride: [100, 1000, 4096][seed % 3], thinkMs: [0, 400][Math.floor(seed / 3) % 2], maxDelayMs: 2, mutation });
    console.log(seed, r.violation ?? 'ok', r.steps, Math.round(r.simMs), JSON.stringify(r.faults), r.ops, r.errors, `${Date.now() - t0}ms`);
    if (r.violation) console.log(r.trace.slice(-25).join('\n'));
  }
}
void main();
