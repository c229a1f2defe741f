import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { createLogger } from '../common/logger';
import { startEtcd } from '../common/etcd-process';
import { startCoordinator } from '../coordinator/coordinator';
import { parseSeconds } from './options';
import { upNetns } from './up-netns';
import { SystemClock } from '../common/clock';

interface AgentChild {
  name: string;
  mountPoint: string;
  socketPath: string;
  child: ChildProcess;
}

/** `coherd up`: etcd, one coordinator and two agents over one backing directory, on this machine. */
export function upCommand(): Command {
  return new Command('up')
    .description('run a local cluster: etcd, a coordinator and two agents mounting one shared directory')
    .option('--dir <dir>', 'working directory (default a new temp dir, removed at exit)')
    .option('--for <seconds>', 'stop by itself after this long (default: until Ctrl-C)')
    .option('--netns', 'put etcd, every coordinator and every agent in a network namespace of its own, like separate machines (root)')
    .option('--hosts <n>', 'agents (with --netns)', '2')
    .option('--coordinators <n>', 'coordinators (with --netns)', '3')
    .option('--leader-ttl <seconds>', 'leadership lease TTL (with --netns)', '2')
    .option('--ttl <seconds>', 'agent session TTL (with --netns)', '5')
    .option('--replica', 'also run `coherd replica` following both agents into <dir>/mirror')
    .action(async (opts) => {
      if (opts.netns) return upNetns(opts);
      const logger = createLogger({ level: process.env.COHERD_LOG_LEVEL ?? 'warn' });
      const base = opts.dir ? path.resolve(opts.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-up-'));
      const backing = path.join(base, 'backing');
      fs.mkdirSync(backing, { recursive: true });
      // etcd and the agents run in process groups of their own: a terminal's Ctrl-C reaches only this process,
      // which stops them in order (agents, coordinator, etcd), and the exit hook below stops them if it dies first.
      const etcd = await startEtcd({ dataDir: path.join(base, 'etcd'), logFile: path.join(base, 'etcd.log'), ownProcessGroup: true });
      // A replica cannot replay direct-mode writes in order (docs/replication.md): with one, files stay cached.
      const coordinator = await startCoordinator({ etcdEndpoints: [etcd.endpoint], listen: '127.0.0.1:0', logger: logger.child({ host: 'coordinator' }), ...(opts.replica ? { directAloneMs: 0 } : {}) });
      const agents: AgentChild[] = [];
      let replica: ChildProcess | undefined;
      let stopping = false;
      const stopAll = async () => {
        stopping = true;
        if (replica) await stopProcess(replica);
        await Promise.all(agents.map((a) => stopProcess(a.child)));
        await coordinator.stop();
        await etcd.stop(false);
        if (!opts.dir) fs.rmSync(base, { recursive: true, force: true });
      };
      process.once('exit', () => {
        // Only what still runs: the pid of a reaped child may be another process's by now (etcd.pid is unset once its stop began).
        const running = [...agents.map((a) => a.child), ...(replica ? [replica] : [])].filter((c) => c.exitCode === null && c.signalCode === null);
        for (const pid of [...running.map((c) => c.pid), etcd.pid]) if (pid) try { process.kill(pid, 'SIGTERM'); } catch { /* gone already */ }
      });
      try {
        for (const name of ['a', 'b']) agents.push(await spawnAgent(name, base, backing, coordinator.address));
        if (opts.replica) replica = await spawnReplica(base, backing, coordinator.address);
      } catch (e) {
        await stopAll();
        throw e;
      }
      printHowTo(etcd.endpoint, coordinator.address, agents);
      if (replica) printReplicaHowTo(base, backing);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
        if (opts.for !== undefined) new SystemClock().setTimer(parseSeconds(opts.for, '--for'), resolve); // any length, no overflow
        for (const a of agents) a.child.once('exit', (code) => { if (!stopping) logger.error('agent exited', { agent: a.name, code }); resolve(); });
      });
      process.stdout.write('\nstopping: unmounting the agents, stopping the coordinator and etcd…\n');
      await stopAll();
      process.stdout.write('stopped; nothing left mounted.\n');
    });
}

async function spawnAgent(name: string, base: string, backing: string, coordinator: string): Promise<AgentChild> {
  const stateDir = path.join(base, `agent-${name}`);
  const mountPoint = path.join(base, `mnt-${name}`);
  fs.mkdirSync(stateDir, { recursive: true });
  const child = spawn(process.execPath, [process.argv[1], 'agent', '--coordinator', coordinator, '--backing', backing, '--mount', mountPoint, '--namespace', 'demo', '--state-dir', stateDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, COHERD_LOG_LEVEL: process.env.COHERD_LOG_LEVEL ?? 'warn' },
    detached: true, // Ctrl-C is up's to handle (see the action)
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => { out += d; if (out.includes('mounted')) resolve(); });
    child.once('exit', (code) => reject(new Error(`agent ${name} exited with ${code} before mounting`)));
  });
  return { name, mountPoint, socketPath: path.join(stateDir, 'agent.sock'), child };
}

/** `coherd replica` finding the agents' journals through the coordinator, mirroring into <base>/mirror. */
async function spawnReplica(base: string, backing: string, coordinator: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [process.argv[1], 'replica', '--namespace', 'demo', '--coordinator', coordinator, '--mirror', path.join(base, 'mirror'), '--backing', backing], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, COHERD_LOG_LEVEL: process.env.COHERD_LOG_LEVEL ?? 'warn' },
    detached: true, // Ctrl-C is up's to handle (see the action)
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => { out += d; if (out.includes('following')) resolve(); });
    child.once('exit', (code) => reject(new Error(`replica exited with ${code} before following`)));
  });
  return child;
}

function printReplicaHowTo(base: string, backing: string): void {
  const cli = `node ${path.relative(process.cwd(), process.argv[1]) || process.argv[1]}`;
  process.stdout.write(`A replica follows both hosts' journals (found through the coordinator):
  replica mirror ${path.join(base, 'mirror')}
  ${cli} replica status --state-dir ${path.join(base, 'mirror')}.replica-state
  ${cli} replica verify --backing ${backing} --mirror ${path.join(base, 'mirror')}

`);
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

function printHowTo(etcd: string, coordinator: string, agents: AgentChild[]): void {
  const [a, b] = agents;
  const cli = `node ${path.relative(process.cwd(), process.argv[1]) || process.argv[1]}`;
  process.stdout.write(`
coherd is up — one shared directory, two hosts:
  etcd          ${etcd}
  coordinator   ${coordinator}
  host A mount  ${a.mountPoint}
  host B mount  ${b.mountPoint}

Try it from another shell:
  echo hello > ${a.mountPoint}/greeting && cat ${b.mountPoint}/greeting
  ls -l ${b.mountPoint}
  COHERD_AGENT_SOCKET=${a.socketPath} ${cli} lock demo -- sh -c 'echo holding with fencing token $COHERD_FENCING_TOKEN; sleep 5'
  ${cli} locks --coordinator ${coordinator}
  ${cli} sessions --coordinator ${coordinator}

Ctrl-C stops everything and unmounts.
`);
}
