/**
 * Where copy_file_range pays (docs/fuse.md, "copy_file_range"): `cp` (which
 * uses copy_file_range) and a python os.copy_file_range loop of one file,
 * in MiB/s, on the backing directory, the addon's plain passthrough, and
 * one agent (real etcd and coordinator) with and without the op
 * (`--copy-file-range yes|no`). Each copy also timed with an fsync of the
 * copy through the same path ("+fsync": the agent's write-back and journal
 * are synced by it). The source is written into the backing directory
 * first, so it is in the host's page cache for every target alike.
 * Usage: node dist/bench/copy-file-range-probe.js [mib=256] [runs=3]
 */
import { execFile } from 'child_process';
import { promises as fsp } from 'fs';
import * as nodePath from 'path';
import { promisify } from 'util';
import { AgentCluster } from '../test/support/agent-cluster';
import { makeFuseTestDirs, removeFuseTestDirs } from '../test/support/fuse-mount';
import { startLlMountChild } from '../test/support/ll-mount-child';

const exec = promisify(execFile);

/** Copies argv[1] to argv[2] with os.copy_file_range (asking for the rest each time, as cp does); prints seconds. */
const PY_COPY = `
import os, sys, time
t = time.monotonic()
i = os.open(sys.argv[1], os.O_RDONLY)
o = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
left = os.fstat(i).st_size
while left > 0:
    n = os.copy_file_range(i, o, left)
    if n == 0: break
    left -= n
if sys.argv[3] == 'fsync': os.fsync(o)
os.close(o); os.close(i)
print(time.monotonic() - t)`;

const CP = `
import os, subprocess, sys, time
t = time.monotonic()
subprocess.run(['cp', '--sparse=never', sys.argv[1], sys.argv[2]], check=True)
if sys.argv[3] == 'fsync':
    fd = os.open(sys.argv[2], os.O_RDONLY); os.fsync(fd); os.close(fd)
print(time.monotonic() - t)`;

type Row = Record<string, string>;

async function timed(code: string, src: string, dst: string, sync: string): Promise<number> {
  await fsp.rm(dst, { force: true }); // async: this process never serves the mount
  const { stdout } = await exec('python3', ['-c', code, src, dst, sync], { maxBuffer: 1 << 20 });
  return Number(stdout.trim());
}

/** Median of `runs` copies of each kind, MiB/s. */
async function measure(name: string, dir: string, mib: number, runs: number): Promise<Row> {
  const src = nodePath.join(dir, 'cfr-src');
  const row: Row = { target: name };
  for (const [kind, code] of [['cp', CP], ['python', PY_COPY]] as const) {
    for (const sync of ['nosync', 'fsync']) {
      const rates: number[] = [];
      for (let i = 0; i < runs; i++) rates.push(mib / (await timed(code, src, nodePath.join(dir, 'cfr-dst'), sync)));
      rates.sort((a, b) => a - b);
      row[`${kind}${sync === 'fsync' ? '+fsync' : ''}`] = `${rates[Math.floor(rates.length / 2)].toFixed(0)} (${rates.map((r) => r.toFixed(0)).join('/')})`;
    }
  }
  await fsp.rm(nodePath.join(dir, 'cfr-dst'), { force: true });
  return row;
}

async function writeSource(backingDir: string, mib: number): Promise<void> {
  await exec('sh', ['-c', `head -c ${mib}M /dev/urandom > '${nodePath.join(backingDir, 'cfr-src')}'`]);
}

async function agentRow(copyFileRange: 'yes' | 'no', mib: number, runs: number): Promise<Row> {
  const cluster = await AgentCluster.start({ agents: 1, agentArgs: ['--copy-file-range', copyFileRange] });
  try {
    await writeSource(cluster.backingDir, mib);
    return await measure(`agent, op ${copyFileRange === 'yes' ? 'on' : 'off'}`, cluster.mnt(0), mib, runs);
  } finally {
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 256);
  const runs = Number(process.argv[3] ?? 3);
  const rows: Row[] = [];
  const dirs = await makeFuseTestDirs();
  try {
    await writeSource(dirs.backingDir, mib);
    rows.push(await measure('backing directory', dirs.backingDir, mib, runs));
    const child = await startLlMountChild({ backingDir: dirs.backingDir, mountPoint: dirs.mountPoint });
    try {
      rows.push(await measure('plain passthrough', dirs.mountPoint, mib, runs));
    } finally {
      await child.stop();
    }
  } finally {
    await removeFuseTestDirs(dirs);
  }
  rows.push(await agentRow('yes', mib, runs));
  rows.push(await agentRow('no', mib, runs));
  const cols = Object.keys(rows[0]);
  console.log(`${mib} MiB, MiB/s: median (runs)`);
  console.log(`| ${cols.join(' | ')} |\n|${cols.map(() => ' --- ').join('|')}|`);
  for (const r of rows) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
