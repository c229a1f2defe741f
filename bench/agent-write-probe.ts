/**
 * A one-shot count of what P6's 1 MiB sequential write (dd bs=1M
 * conv=fsync, bench/workloads/dd.ts) costs a real agent mount against the
 * plain passthrough on the same addon: MiB/s and agent CPU per MiB, for a
 * freshly started agent (as P6 runs it) and again on the same agent
 * (warm). One agent, real etcd and coordinator.
 * Usage: node dist/bench/agent-write-probe.js [MiB=256] [rounds=2]
 * (COHERD_PROBE_NODE=<wrapper>: children run through it, e.g. with --cpu-prof.)
 */
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { AgentCluster } from '../test/support/agent-cluster';
import { Cleanup } from './cleanup';
import { startPlainPassthrough } from './passthrough/passthrough-process';
import { ddWrite } from './workloads/dd';

const TICKS_PER_SEC = 100;
const MiB = 1024 * 1024;

async function cpuMs(pid: number): Promise<number> {
  const f = (await fsp.readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SEC;
}

async function timedWrite(file: string, mib: number, pid: number): Promise<{ mibPerSec: number; cpuMsPerMiB: number }> {
  const c0 = await cpuMs(pid);
  const ms = await ddWrite(file, { blockBytes: MiB, totalBytes: mib * MiB, timeoutMs: 300_000, signal: new AbortController().signal });
  const c1 = await cpuMs(pid);
  await fsp.rm(file);
  return { mibPerSec: Math.round((mib / (ms / 1000)) * 10) / 10, cpuMsPerMiB: Math.round(((c1 - c0) / mib) * 100) / 100 };
}

async function coherdRound(mib: number): Promise<Record<string, unknown>> {
  if (process.env.COHERD_PROBE_NODE) process.execPath = process.env.COHERD_PROBE_NODE;
  const cluster = await AgentCluster.start({ agents: 1 });
  try {
    const pid = cluster.agents[0].pid;
    const cold = await timedWrite(cluster.mnt(0, 'seq'), mib, pid);
    const warm = await timedWrite(cluster.mnt(0, 'seq'), mib, pid);
    return { cold, warm };
  } finally {
    await cluster.stop();
  }
}

async function passthroughRound(mib: number): Promise<Record<string, unknown>> {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'coherd-wprobe-'));
  const cleanup = new Cleanup();
  try {
    const backing = path.join(tmp, 'backing');
    await fsp.mkdir(backing);
    const mount = await startPlainPassthrough(backing, path.join(tmp, 'mnt'), cleanup);
    const cold = await timedWrite(path.join(mount.mountPoint, 'seq'), mib, mount.pid);
    const warm = await timedWrite(path.join(mount.mountPoint, 'seq'), mib, mount.pid);
    return { cold, warm };
  } finally {
    await cleanup.runAll();
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const mib = Number(process.argv[2] ?? 256);
  const rounds = Number(process.argv[3] ?? 2);
  for (let r = 0; r < rounds; r++) {
    console.log(JSON.stringify({ round: r, load: os.loadavg()[0].toFixed(2), coherd: await coherdRound(mib), passthrough: await passthroughRound(mib) }));
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
