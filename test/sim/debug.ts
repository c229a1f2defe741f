import { runSimulation } from './simulation';

async function main(): Promise<void> {
  const seed = Number(process.argv[2]);
  const hosts = 2 + (seed % 2);
  const r = await runSimulation({ seed, hosts, slotsPerWorker: 3, workersPerHost: 2, opsPerWorker: 20, faults: process.argv[3] === 'faults', maxDelayMs: 2, traceLines: 5000 });
  console.log(r.violation ?? 'ok');
  console.log(r.trace.join('\n'));
}
void main();
