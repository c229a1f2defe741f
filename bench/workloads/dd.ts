import { spawn } from 'node:child_process';
import { BenchAbortedError, nowMs, StepTimeoutError } from '../timing';

/**
 * Sequential I/O with dd(1), timed from spawn to exit (spawn costs ~1 ms
 * against hundreds of ms of I/O). Writes end with fsync (conv=fsync) so the
 * data has reached the backing disk; reads drop no cache: through a
 * direct_io mount the kernel keeps none, and the direct case reads what the
 * page cache holds, as an application would.
 */

export interface DdOptions {
  blockBytes: number;
  totalBytes: number;
  timeoutMs: number;
  signal: AbortSignal;
}

function run(args: string[], options: DdOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = nowMs();
    const child = spawn('dd', [...args, 'status=none'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = () => child.kill('SIGKILL');
    const timer = setTimeout(() => {
      kill();
      reject(new StepTimeoutError(`dd ${args.join(' ')} took over ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    const onAbort = () => {
      kill();
      reject(new BenchAbortedError());
    };
    options.signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', reject);
    child.once('exit', (code) => {
      const elapsedMs = nowMs() - start;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      if (code === 0) resolve(elapsedMs);
      else reject(new Error(`dd ${args.join(' ')} failed (${code}): ${stderr.trim()}`));
    });
  });
}

function blockArgs(o: DdOptions): string[] {
  if (o.totalBytes % o.blockBytes !== 0) throw new RangeError(`${o.totalBytes} bytes is not a multiple of ${o.blockBytes}-byte blocks`);
  return [`bs=${o.blockBytes}`, `count=${o.totalBytes / o.blockBytes}`];
}

/** Writes `file` from /dev/zero, then fsync; returns elapsed ms. */
export function ddWrite(file: string, o: DdOptions): Promise<number> {
  return run(['if=/dev/zero', `of=${file}`, ...blockArgs(o), 'conv=fsync'], o);
}

/** Reads `file` to /dev/null; returns elapsed ms. */
export function ddRead(file: string, o: DdOptions): Promise<number> {
  return run([`if=${file}`, 'of=/dev/null', ...blockArgs(o)], o);
}
