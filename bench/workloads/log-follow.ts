import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BenchAbortedError, StepTimeoutError } from '../timing';
import type { Metrics } from '../types';

/** The workload script (python3, as a user would write it): see its docstring. */
export const LOG_FOLLOWER = path.resolve(__dirname, '..', '..', '..', 'bench', 'workloads', 'log-follower.py');

export interface LogFollowOptions {
  /** Where the writer writes (a mount, or the backing directory itself). */
  writerDir: string;
  /** Where the follower reads the same files (another mount of the same backing). */
  followerDir: string;
  /** Outside any mount: start files and FIFOs. */
  scratch: string;
  records: number;
  rounds: number;
  timeoutMs: number;
  signal: AbortSignal;
}

function python(args: string[], o: LogFollowOptions): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [LOG_FOLLOWER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new StepTimeoutError(`log-follower ${args[0]} took over ${o.timeoutMs} ms`)); }, o.timeoutMs);
    const onAbort = () => { child.kill('SIGKILL'); reject(new BenchAbortedError()); };
    o.signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      if (code !== 0) return reject(new Error(`log-follower ${args[0]} exited ${code}: ${err.trim()}`));
      try {
        resolve(JSON.parse(out) as Record<string, number>);
      } catch {
        reject(new Error(`log-follower ${args[0]} printed no JSON: ${out.slice(0, 200)}`));
      }
    });
  });
}

/**
 * Issue 14's table: an O_APPEND writer of 28-byte records with fsync,
 * alone and with a follower (re-open, seek, read every 5 ms) on the other
 * directory; then strict alternation of 512-byte records (write + fsync
 * on one side, then one read on the other, which must return the record).
 */
export async function measureLogFollow(o: LogFollowOptions): Promise<Metrics> {
  const n = String(o.records);
  const goAlone = path.join(o.scratch, 'alone.go');
  await fs.promises.writeFile(goAlone, '');
  const alone = await python(['writer', path.join(o.writerDir, 'alone.log'), n, '28', goAlone], o);

  const go = path.join(o.scratch, 'followed.go');
  await fs.promises.writeFile(path.join(o.writerDir, 'followed.log'), '');
  const writer = python(['writer', path.join(o.writerDir, 'followed.log'), n, '28', go], o);
  const follower = python(['follower', path.join(o.followerDir, 'followed.log'), n, '28', go], o);
  await fs.promises.writeFile(go, '');
  const [w, f] = await Promise.all([writer, follower]);

  const fifos = path.join(o.scratch, 'alternate');
  await fs.promises.mkdir(fifos, { recursive: true });
  await fs.promises.writeFile(path.join(o.writerDir, 'alternate.log'), '');
  const reader = python(['alternate-read', path.join(o.followerDir, 'alternate.log'), String(o.rounds), '512', fifos], o);
  const alternation = await python(['alternate-write', path.join(o.writerDir, 'alternate.log'), String(o.rounds), '512', fifos], o);
  await reader;
  return {
    writerAloneRecordsPerSec: alone.per_second,
    followedRecordsPerSec: w.per_second,
    followedToAloneRatio: w.per_second / alone.per_second,
    followerLagP50Ms: f.lag_p50_ms,
    followerLagP99Ms: f.lag_p99_ms,
    alternationRoundsPerSec: alternation.per_second,
  };
}
