import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../common/logger';
import { InvalidArgumentError } from '../common/errors';
import { NetnsCluster, NetnsClusterInfo } from './netns-cluster';
import { parseSeconds } from './options';
import { SystemClock } from '../common/clock';

function count(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError('INVALID_ARGUMENT', `${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  return n;
}

/** `coherd up --netns`: the cluster on separate network namespaces until Ctrl-C, SIGTERM or --for. */
export async function upNetns(opts: { dir?: string; for?: string; hosts: string; coordinators: string; leaderTtl: string; ttl: string }): Promise<void> {
  const agents = count(opts.hosts, '--hosts', 1, 20);
  const coordinators = count(opts.coordinators, '--coordinators', 1, 5);
  const leaderTtlSeconds = Math.max(2, parseSeconds(opts.leaderTtl, '--leader-ttl') / 1000);
  const sessionTtlSeconds = Math.max(2, parseSeconds(opts.ttl, '--ttl') / 1000);
  const forMs = opts.for === undefined ? undefined : parseSeconds(opts.for, '--for');
  const logger = createLogger({ level: process.env.COHERD_LOG_LEVEL ?? 'warn' });
  const base = opts.dir ? path.resolve(opts.dir) : fs.mkdtempSync(path.join(os.tmpdir(), 'coherd-up-netns-'));
  fs.mkdirSync(base, { recursive: true });
  const cluster = new NetnsCluster({ base, agents, coordinators, leaderTtlSeconds, sessionTtlSeconds, logger });
  const onExit = () => cluster.topology.destroy();
  process.once('exit', onExit);
  try {
    const info = await cluster.start();
    printHowTo(info, base);
    const why = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('interrupted'));
      process.once('SIGTERM', () => resolve('terminated'));
      if (forMs !== undefined) new SystemClock().setTimer(forMs, () => resolve('time is up')); // any length, no overflow
      void cluster.childExited().then(resolve);
    });
    process.stdout.write(`\nstopping (${why}): unmounting the agents, stopping coordinators and etcd, removing the namespaces…\n`);
  } finally {
    await cluster.stop();
    process.off('exit', onExit);
    if (!opts.dir) fs.rmSync(base, { recursive: true, force: true });
  }
  process.stdout.write('stopped; no namespace or mount left.\n');
}

function printHowTo(info: NetnsClusterInfo, base: string): void {
  const cli = `node ${path.relative(process.cwd(), process.argv[1]) || process.argv[1]}`;
  const endpoints = info.coordinators.map((c) => c.address).join(',');
  const lines = [
    '',
    `coherd is up on separate network namespaces (switch ${info.switchNetns}, this host is ${info.consoleAddress}):`,
    `  etcd           ${info.etcd}`,
    ...info.coordinators.map((c) => `  coordinator ${c.name}  ${c.address}  (netns ${c.netns}, metrics ${c.metrics})`),
    ...info.agents.map((a) => `  agent ${a.name}        ${a.address}  mounted at ${a.mount}  (metrics ${a.metrics})`),
    '',
    'Try it from another shell:',
    `  echo hello > ${info.agents[0].mount}/greeting && cat ${info.agents[info.agents.length - 1].mount}/greeting`,
    `  ${cli} status --coordinator ${endpoints} --etcd ${info.etcd} --metrics ${info.coordinators.map((c) => c.metrics).join(',')}`,
    `  ${cli} top --coordinator ${endpoints} --metrics ${info.coordinators.map((c) => c.metrics).join(',')}`,
    `  ${info.coordinators[0].partition}    # cut ${info.coordinators[0].name} off the network; "${info.coordinators[0].heal}" heals it`,
    '',
    `Logs and cluster.json in ${base}. Ctrl-C stops everything, unmounts and removes the namespaces.`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}
