/**
 * A one-shot count of what a small-file create (P6's create + write(4 KiB)
 * + close, bench/workloads/small-files.ts) costs a real agent mount: agent
 * and coordinator CPU per create (all threads, /proc/<pid>/stat), vops per
 * create from the agent's /metrics, and, with `strace`, the agent's system
 * calls per create (every thread). One agent, real etcd and coordinator.
 * Usage: node dist/bench/agent-create-probe.js [files=1000] [strace]
 * (COHERD_PROBE_NODE=<wrapper>: children run through it, e.g. with --cpu-prof.)
 */
import { execFile, spawn } from 'child_process';
import { promises as fsp } from 'fs';
import { promisify } from 'util';
import { scrapeMetrics } from '../src/cli/metrics-scrape';
import { AgentCluster } from '../test/support/agent-cluster';
import { runSmallFiles } from './workloads/small-files';

const exec = promisify(execFile);
const TICKS_PER_SEC = 100;

async function cpuMs(pid: number): Promise<number> {
  const f = (await fsp.readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SEC; // utime, stime (fields 14, 15)
}

/** CPU ms of each thread of `pid`, summed by thread name. */
async function threadCpuMs(pid: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const tid of await fsp.readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const stat = await fsp.readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
    const name = `${/\((.*)\)/.exec(stat)?.[1] ?? "?"}:${tid === String(pid) ? "main" : tid}`;
    const f = stat.split(') ')[1]?.split(' ');
    if (f) out[name] = (out[name] ?? 0) + ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_SEC;
  }
  return out;
}

async function listenerPid(address: string): Promise<number> {
  const port = address.split(':').pop();
  const { stdout } = await exec('ss', ['-ltnpH', `sport = :${port}`]);
  const m = /pid=(\d+)/.exec(stdout);
  if (!m) throw new Error(`no process listens on ${address}`);
  return Number(m[1]);
}

async function vops(address: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of await scrapeMetrics(address)) {
    if (s.name === 'coherd_agent_vop_duration_seconds_count') out[s.labels.op] = (out[s.labels.op] ?? 0) + s.value;
  }
  return out;
}

async function main(): Promise<void> {
  const files = Number(process.argv[2] ?? 1000);
  const withStrace = process.argv[3] === 'strace';
  // COHERD_PROBE_NODE: the node the agent (and every child) runs as, e.g. a wrapper adding --cpu-prof.
  if (process.env.COHERD_PROBE_NODE) process.execPath = process.env.COHERD_PROBE_NODE;
  const cluster = await AgentCluster.start({ agents: 1, agentArgs: ['--metrics-listen', '127.0.0.1:0'] });
  try {
    const agent = cluster.agents[0];
    const metrics = agent.metricsAddress;
    if (!metrics) throw new Error('the agent serves no metrics');
    const coordinatorPid = await listenerPid(cluster.coordinatorAddress);
    const warm = cluster.mnt(0, 'warm');
    const dir = cluster.mnt(0, 'small');
    await fsp.mkdir(warm); // from this process: no synchronous call into the mount, the agent is another process
    await fsp.mkdir(dir);
    await runSmallFiles('create', warm, 200, 4096, 120_000, new AbortController().signal);
    const [a0, c0, v0, t0] = await Promise.all([cpuMs(agent.pid), cpuMs(coordinatorPid), vops(metrics), threadCpuMs(agent.pid)]);
    const strace = withStrace ? spawn('strace', ['-c', '-f', '-p', String(agent.pid), '-o', '/tmp/create3-strace.txt'], { stdio: 'ignore' }) : undefined;
    const straceDone = strace ? new Promise((r) => strace.once('exit', r)) : undefined;
    if (strace) await new Promise((r) => setTimeout(r, 1000));
    const elapsedMs = await runSmallFiles('create', dir, files, 4096, 300_000, new AbortController().signal);
    const [a1, c1, v1, t1] = await Promise.all([cpuMs(agent.pid), cpuMs(coordinatorPid), vops(metrics), threadCpuMs(agent.pid)]);
    const threads = Object.fromEntries(Object.keys(t1).map((k) => [k, ((t1[k] ?? 0) - (t0[k] ?? 0)) / files]).filter(([, ms]) => ms !== 0));
    const perFile = Object.fromEntries(Object.keys(v1).map((op) => [op, ((v1[op] ?? 0) - (v0[op] ?? 0)) / files]).filter(([, n]) => n !== 0));
    console.log(JSON.stringify({
      files,
      createsPerSec: Math.round(files / (elapsedMs / 1000)),
      agentCpuMsPerCreate: (a1 - a0) / files,
      coordinatorCpuMsPerCreate: (c1 - c0) / files,
      vopsPerCreate: perFile,
      agentCpuMsPerCreateByThread: threads,
    }));
    if (strace) {
      strace.kill('SIGINT'); // the strace this probe started, by its pid
      await straceDone;
      console.log(await fsp.readFile('/tmp/create3-strace.txt', 'utf8'));
    }
  } finally {
    await cluster.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
