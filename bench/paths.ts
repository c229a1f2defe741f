import * as fs from 'node:fs';
import * as path from 'node:path';

/** The bench/ source folder, whether running from bench/ (ts) or dist/bench/ (compiled). */
export function benchSourceDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'bench');
    if (fs.existsSync(path.join(candidate, 'protos', 'v3lock.proto'))) return candidate;
    if (path.basename(dir) === 'bench' && fs.existsSync(path.join(dir, 'protos', 'v3lock.proto'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`bench/protos/v3lock.proto not found above ${__dirname}`);
}

/** The folder holding the compiled bench scripts (this file's folder). */
export function compiledBenchDir(): string {
  return __dirname;
}

/**
 * bench/results/ (created if missing), or $COHERD_BENCH_RESULTS_DIR for
 * exploratory runs that must not replace the recorded report.
 */
export function resultsDir(): string {
  const dir = process.env.COHERD_BENCH_RESULTS_DIR || path.join(benchSourceDir(), 'results');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
