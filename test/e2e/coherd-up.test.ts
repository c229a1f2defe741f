import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import { collect, spawnCli } from '../support/cluster';

const sh = promisify(execFile);

test('coherd up brings up two coherent mounts of one directory and Ctrl-C stops everything in order, with no warning, and unmounts', { timeout: 120_000 }, async () => {
  const up = spawnCli(['up', '--for', '90'], {}, true);
  const finished = collect(up, 110_000);
  let out = '';
  up.stdout!.on('data', (d) => (out += d));
  try {
    while (!/Ctrl-C stops everything/.test(out)) {
      if (up.exitCode !== null) throw new Error(`coherd up exited early: ${(await finished).stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const mountA = /host A mount\s+(\S+)/.exec(out)![1];
    const mountB = /host B mount\s+(\S+)/.exec(out)![1];
    // From another process, as a user's shell would.
    await sh('sh', ['-c', `echo hello from A > ${mountA}/greeting`]);
    const { stdout } = await sh('cat', [`${mountB}/greeting`]);
    assert.equal(stdout, 'hello from A\n');
    // A terminal's Ctrl-C signals the whole foreground process group, not just `up`.
    process.kill(-up.pid!, 'SIGINT');
    const result = await finished;
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /"level":"(warn|error)"/, 'etcd stopped before the coordinator freed the sessions');
    assert.match(out, /nothing left mounted/);
    const mounts = await readFile('/proc/mounts', 'utf8');
    assert.ok(!mounts.includes(mountA) && !mounts.includes(mountB), 'both mounts are gone');
  } finally {
    if (up.exitCode === null) process.kill(-up.pid!, 'SIGKILL');
  }
});
