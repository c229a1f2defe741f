import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { collect } from '../support/cluster';

const BENCH = path.resolve(__dirname, '../../bench/run.js');

// CI proves the benchmark suite still runs end to end; it checks completion, not timings.
const benchMounts = async (): Promise<Set<string>> => {
  const { readFile } = await import('node:fs/promises');
  const lines = (await readFile('/proc/mounts', 'utf8')).split('\n');
  return new Set(lines.map((l) => l.split(' ')[1]).filter((m) => m && m.includes('coherd-bench')));
};

test('the benchmark suite completes in quick mode and leaves nothing behind', { timeout: 600_000 }, async () => {
  const before = await benchMounts();
  const child = spawn(process.execPath, [BENCH, '--quick'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result = await collect(child, 590_000);
  assert.equal(result.code, 0, result.stderr.slice(-4000));
  assert.doesNotMatch(result.stderr, /FAILED/, 'every case measured');
  const left = [...(await benchMounts())].filter((m) => !before.has(m));
  assert.deepEqual(left, [], 'no benchmark mount of this run left');
});
