import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { waitExit } from '../child-exit';
import type { BenchContext } from '../types';
import type { WellBehavedReport } from './well-behaved-client';

/** P10's well-behaved client, running in a process of its own (well-behaved-client.ts). */
export interface WellBehavedProcess {
  /** Starts the timed loop. */
  start(): void;
  /** Stops the loop and resolves with every sample. */
  stop(): Promise<WellBehavedReport>;
  /** Lets the process close its session and exit (killed if it does not within a bound); idempotent. */
  close(): Promise<void>;
}

/** How long the process may take to close its session and exit once stopped. */
const EXIT_GRACE_MS = 3000;

/** Starts well-behaved-client.js against a coordinator and waits until it has its session and is warmed up. */
export async function startWellBehaved(ctx: BenchContext, address: string, periodMs: number): Promise<WellBehavedProcess> {
  const script = path.join(__dirname, 'well-behaved-client.js');
  const child = spawn(process.execPath, [script, address, String(periodMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const stopLoop = () => { if (child.stdin!.writable) child.stdin!.write('stop\n'); };
  const close = ctx.cleanup.add({
    name: 'P10 well-behaved client',
    run: async () => {
      stopLoop();
      if (!(await waitExit(child, EXIT_GRACE_MS))) child.kill('SIGKILL');
      await waitExit(child, 5000);
    },
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiting: Array<() => void> = [];
  const wake = () => waiting.splice(0).forEach((w) => w());
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(JSON.parse(line) as Record<string, unknown>);
    wake();
  });
  child.once('exit', wake);
  child.stdin!.on('error', () => undefined); // the child exited: what it printed says why
  const next = async (event: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const found = lines.find((l) => l.event === event || l.event === 'failed');
      if (found?.event === 'failed') throw new Error(`well-behaved client failed: ${String(found.message)}`);
      if (found) return found;
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`well-behaved client exited before '${event}'`);
      await new Promise<void>((r) => waiting.push(r));
    }
  };
  try {
    await next('ready');
  } catch (e) {
    await close();
    throw e;
  }
  return {
    start: () => { child.stdin!.write('start\n'); },
    stop: async () => {
      stopLoop();
      const r = await next('report');
      return { samples: r.samples as WellBehavedReport['samples'], failures: r.failures as WellBehavedReport['failures'] };
    },
    close,
  };
}
