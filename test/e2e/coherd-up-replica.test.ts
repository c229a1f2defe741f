import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { collect, spawnCli } from '../support/cluster';
import { eventually } from '../support/eventually';

const sh = promisify(execFile);

test('coherd up --replica mirrors what the hosts write, and replica verify finds no difference', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'coherd-up-replica-'));
  const up = spawnCli(['up', '--replica', '--dir', dir, '--for', '90']);
  const finished = collect(up, 110_000);
  let out = '';
  up.stdout!.on('data', (d) => (out += d));
  try {
    while (!/replica mirror/.test(out)) {
      if (up.exitCode !== null) throw new Error(`coherd up exited early: ${(await finished).stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const mountA = /host A mount\s+(\S+)/.exec(out)![1];
    const mirror = /replica mirror\s+(\S+)/.exec(out)![1];
    await sh('sh', ['-c', `mkdir ${mountA}/dir && echo hello from A > ${mountA}/dir/greeting && mv ${mountA}/dir/greeting ${mountA}/moved`]);
    await eventually(async () => assert.equal(await readFile(path.join(mirror, 'moved'), 'utf8'), 'hello from A\n'), 20_000, 100);
    await eventually(async () => {
      const { stdout } = await sh(process.execPath, [path.resolve(__dirname, '../../src/cli/main.js'), 'replica', 'verify', '--backing', path.join(dir, 'backing'), '--mirror', mirror]);
      assert.match(stdout, /mirror matches/);
    }, 20_000, 500);
    up.kill('SIGINT');
    const result = await finished;
    assert.equal(result.code, 0, result.stderr);
  } finally {
    if (up.exitCode === null) up.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
