import { randomBytes } from 'node:crypto';
import * as readline from 'node:readline';
import { CoherdClient } from '../../src/agent/client/coherd-client';
import { silentLogger } from '../../src/common/logger';

/**
 * The well-behaved side of P10, run as its own process (`node
 * well-behaved-client.js <endpoint> <periodMs>`), as another host of the
 * cluster would be: nothing the benchmark process does (spawning the
 * hostile process, scraping /metrics, parsing its output) delays its
 * acquires or the timing of them.
 *
 * It connects, warms up (WARMUP_PAIRS untimed pairs), says `ready`, and on `start` (a line on stdin) takes and
 * releases an EXCLUSIVE range lock every periodMs, timing each acquire
 * (from the call to the grant), until `stop`; then prints every sample
 * and exits. Samples carry the monotonic clock in µs
 * (process.hrtime, CLOCK_MONOTONIC, the same in every process of the
 * machine), so the benchmark can place a slow one among the hostile
 * client's phases. Output: one line of JSON per event on stdout.
 */
export interface WellBehavedReport {
  /** [monotonic start of the acquire in µs, its latency in ms], every sample of the run. */
  samples: Array<[number, number]>;
  /** Failed acquires by reason. */
  failures: Record<string, number>;
}

/** Untimed acquire+release pairs before the measurement starts. */
const WARMUP_PAIRS = 50;

function say(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

async function main(): Promise<void> {
  const [endpoint, periodArg] = process.argv.slice(2);
  const periodMs = Number(periodArg);
  if (!endpoint || !(periodMs > 0)) throw new Error('usage: well-behaved-client.js <endpoint> <periodMs>');
  const client = await CoherdClient.connect({ endpoints: [endpoint], clientName: 'p10-well-behaved', logger: silentLogger() });
  const resource = `bench/p10/well-behaved/${randomBytes(4).toString('hex')}`;
  const state = { phase: 'ready' as 'ready' | 'running' | 'stopping' };
  let started: () => void = () => undefined;
  const start = new Promise<void>((r) => { started = r; });
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    if (line === 'start' && state.phase === 'ready') {
      state.phase = 'running';
      started();
    } else if (line === 'stop') state.phase = 'stopping';
  });
  // Untimed warm-up (as P1–P3 do): a client of a real cluster is a long-running agent, and the
  // coordinator it talks to has served locks before; the first acquires of a fresh process are not that.
  for (let i = 0; i < WARMUP_PAIRS; i++) {
    const g = await client.acquire({ resource, space: 'range', mode: 'EXCLUSIVE', range: { start: 0, end: 1 } });
    await client.release(g.lockId);
  }
  say('ready');
  await start;
  const report: WellBehavedReport = { samples: [], failures: {} };
  while (state.phase === 'running') {
    const t0Us = monotonicUs();
    const t0 = performance.now();
    try {
      const g = await client.acquire({ resource, space: 'range', mode: 'EXCLUSIVE', range: { start: 0, end: 1 } });
      report.samples.push([t0Us, performance.now() - t0]);
      await client.release(g.lockId);
    } catch (e) {
      const reason = (e as { reason?: string }).reason ?? 'ERROR';
      report.failures[reason] = (report.failures[reason] ?? 0) + 1;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, periodMs - (performance.now() - t0))));
  }
  say('report', { ...report });
  await client.close();
}

main().then(
  () => process.exit(0),
  (e) => {
    say('failed', { message: (e as Error).message });
    process.exit(1);
  },
);
