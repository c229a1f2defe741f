import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { collect } from '../support/cluster';

const BENCH = path.resolve(__dirname, '../../bench/run.js');

// CI proves the benchmark suite still runs end to end; it checks completion, not timings.
test('the benchmark suite completes in quick mode and leaves nothing behind', { timeout: 600_000 }, async () => {
  // A temp root of its own, so mounts of benchmarks running beside it are not counted.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-bench-quick-'));
  // Its results go beside, not into the checkout (a test run must leave the tree clean).
  const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-bench-quick-results-'));
  try {
    const env = { ...process.env, TMPDIR: tmp, COHERD_BENCH_RESULTS_DIR: resultsDir };
    const child = spawn(process.execPath, [BENCH, '--quick'], { stdio: ['ignore', 'pipe', 'pipe'], env });
    const result = await collect(child, 590_000);
    assert.equal(result.code, 0, result.stderr.slice(-4000));
    assert.doesNotMatch(result.stderr, /FAILED/, 'every case measured');
    const mounts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '');
    assert.deepEqual(mounts.filter((m) => m.startsWith(tmp)), [], 'no mount of this run left');
    assert.deepEqual(fs.readdirSync(tmp), [], 'its temp files removed');
    const [json] = fs.readdirSync(resultsDir).filter((f) => /^quick-.*\.json$/.test(f));
    const written = JSON.parse(fs.readFileSync(path.join(resultsDir, json), 'utf8')) as { cases: Array<{ id: string }> };
    assert.deepEqual(written.cases.map((c) => c.id).sort(), ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'P8', 'P9', 'P10'].sort(), 'a result for every case');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(resultsDir, { recursive: true, force: true });
  }
});
