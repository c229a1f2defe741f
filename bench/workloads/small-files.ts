import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchAbortedError, nowMs, StepTimeoutError } from '../timing';

/**
 * Small-file workloads, run in their own process (never in a process that
 * might serve the mount), with ordinary synchronous file calls one file at
 * a time, as a simple tool would make them.
 *
 *   node small-files.js create <dir> <count> <bytes>   create+write+close
 *   node small-files.js stat <dir> <count>             stat each file
 *
 * Prints {"elapsedMs": …} on stdout; timing excludes node's start-up.
 */

export type SmallFilesOp = 'create' | 'stat';

export function fileName(dir: string, i: number): string {
  return path.join(dir, `f${String(i).padStart(6, '0')}`);
}

function create(dir: string, count: number, bytes: number): number {
  const data = Buffer.alloc(bytes, 0x61);
  const start = nowMs();
  for (let i = 0; i < count; i++) {
    const fd = fs.openSync(fileName(dir, i), 'w');
    fs.writeSync(fd, data);
    fs.closeSync(fd);
  }
  return nowMs() - start;
}

function stat(dir: string, count: number): number {
  const start = nowMs();
  for (let i = 0; i < count; i++) fs.statSync(fileName(dir, i));
  return nowMs() - start;
}

/** Runs one workload in a child process; resolves with its elapsed ms. */
export function runSmallFiles(
  op: SmallFilesOp,
  dir: string,
  count: number,
  bytes: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = [__filename, op, dir, String(count), String(bytes)];
    execFile(process.execPath, args, { timeout: timeoutMs, killSignal: 'SIGKILL', signal }, (err, stdout, stderr) => {
      if (err && signal.aborted) return reject(new BenchAbortedError());
      if (err && (err as { killed?: boolean }).killed) return reject(new StepTimeoutError(`small-files ${op} took over ${timeoutMs} ms`));
      if (err) return reject(new Error(`small-files ${op} failed: ${err.message} ${stderr.trim()}`));
      const parsed = JSON.parse(stdout) as { elapsedMs: number };
      resolve(parsed.elapsedMs);
    });
  });
}

function main(argv: string[]): void {
  const [op, dir, count, bytes] = argv;
  const n = Number(count);
  if (!dir || !Number.isInteger(n) || n <= 0) throw new Error('usage: small-files create|stat <dir> <count> [bytes]');
  let elapsedMs: number;
  if (op === 'create') elapsedMs = create(dir, n, Number(bytes ?? 0));
  else if (op === 'stat') elapsedMs = stat(dir, n);
  else throw new Error(`unknown op ${op}`);
  process.stdout.write(JSON.stringify({ elapsedMs }) + '\n');
}

if (require.main === module) main(process.argv.slice(2));
