import { existsSync, mkdirSync, statSync } from 'fs';
import * as nodePath from 'path';
import { Command } from 'commander';
import { InvalidArgumentError } from '../common/errors';
import { createLogger } from '../common/logger';
import { discoverJournals } from '../replica/journal-discovery';
import { verifyMirror } from '../replica/mirror-verify';
import { removeAck } from '../replica/replica-acker';
import { ReplicaFollower } from '../replica/replica-follower';
import { replicaStatus } from '../replica/replica-status';
import { formatTable } from './table-format';
import { AdminClient } from '../agent/client/admin-client';
import { SystemClock } from '../common/clock';
import { serveOps } from '../common/metrics/ops-server';
import { splitHostPort } from '../coordinator/transport-security';
import { parseEndpoints } from './options';
import { tlsFilesOf, withTlsOptions } from './tls-options';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** `coherd replica [run] | status | verify` (docs/replication.md). */
export function replicaCommand(): Command {
  const replica = new Command('replica').description('follow every agent journal of a namespace into a mirror directory (a fallback copy)');
  replica.addCommand(withTlsOptions(new Command('run'))
    .description('follow the journals and apply them to the mirror (the default subcommand)')
    .requiredOption('--namespace <name>', 'name of the shared filesystem')
    .option('--coordinator <host:port,...>', 'find agents through the coordinator: live agent sessions advertise their journal directories (admin identity needed with TLS)')
    .option('--journals <dir,...>', 'where the agents\' journal directories are (each a journal directory, or searched two levels down); with --coordinator, or instead of it')
    .requiredOption('--mirror <dir>', 'the mirror directory (created if missing)')
    .option('--backing <dir>', 'the shared backing store, read for a full rescan when the journals were truncated past this replica')
    .option('--state-dir <dir>', 'cursors and inode map (default <mirror>.replica-state)')
    .option('--name <name>', 'name this replica registers under on the journals', 'replica')
    .option('--sync', 'fsync on the agents waits until this replica has the data durably (DRBD protocol C)')
    .option('--poll-ms <ms>', 'pause between read rounds (default 5, 1 with --sync)')
    .option('--metrics-listen <host:port>', 'serve /metrics, /healthz and /readyz over HTTP there')
    .action(async (opts, cmd: Command) => {
      for (const [flag, value] of [['--namespace', opts.namespace], ['--name', opts.name]]) {
        if (!NAME.test(value)) throw new InvalidArgumentError('INVALID_ARGUMENT', `${flag} must be 1-64 letters, digits, '.', '_' or '-', got "${value}"`);
      }
      const pollMs = opts.pollMs === undefined ? undefined : Number(opts.pollMs);
      if (pollMs !== undefined && (!Number.isInteger(pollMs) || pollMs < 0 || pollMs > 60_000)) throw new InvalidArgumentError('INVALID_ARGUMENT', `--poll-ms must be an integer in [0, 60000], got "${opts.pollMs}"`);
      if (opts.journals === undefined && opts.coordinator === undefined) throw new InvalidArgumentError('INVALID_ARGUMENT', 'give --coordinator, --journals or both: where to find the agents');
      const roots = opts.journals === undefined ? [] : String(opts.journals).split(',').map((s) => s.trim()).filter(Boolean);
      for (const dir of [...roots, ...(opts.backing ? [opts.backing] : [])]) requireDir(dir);
      const admin = opts.coordinator === undefined ? undefined : new AdminClient(parseEndpoints(String(opts.coordinator)), tlsFilesOf(cmd));
      if (opts.metricsListen) splitHostPort(String(opts.metricsListen));
      const mirrorDir = nodePath.resolve(opts.mirror);
      mkdirSync(mirrorDir, { recursive: true });
      const logger = createLogger();
      const follower = await ReplicaFollower.open({
        namespace: opts.namespace, journalRoots: roots, listSessions: admin && (() => admin.listSessions()), mirrorDir, stateDir: opts.stateDir ?? `${mirrorDir}.replica-state`,
        name: opts.name, sync: Boolean(opts.sync), backingDir: opts.backing, pollMs, logger,
      });
      // prom-client is loaded only by replicas that serve metrics.
      const metrics = opts.metricsListen ? new (await import('../replica/replica-metrics')).ReplicaMetrics(follower, new SystemClock()) : undefined;
      const ops = metrics ? await serveOps(String(opts.metricsListen), metrics, logger) : undefined;
      follower.start();
      process.stdout.write(`coherd replica following ${opts.namespace} into ${mirrorDir}${opts.sync ? ' (synchronous)' : ''}${ops ? ` metrics on ${ops.address}` : ''}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await follower.stop();
      await ops?.close();
    }), { isDefault: true });
  replica.addCommand(new Command('status')
    .description('per agent: cursor, lag in records, bytes and seconds, last applied fencing token')
    .requiredOption('--state-dir <dir>', 'the replica\'s state directory (<mirror>.replica-state by default)')
    .option('--json', 'print JSON')
    .action(async (opts) => {
      requireDir(opts.stateDir);
      const s = await replicaStatus(opts.stateDir);
      if (opts.json) {
        process.stdout.write(JSON.stringify(s, null, 2) + '\n');
        return;
      }
      process.stdout.write(`replica ${s.name} of ${s.namespace} → ${s.mirror}; rescans: ${s.rescans}`
        + (s.live ? `; lag p50 ${s.live.lagP50Ms ?? '-'} ms, p99 ${s.live.lagP99Ms ?? '-'} ms over ${s.live.samples} records` : '') + '\n');
      process.stdout.write(formatTable(['AGENT', 'CURSOR', 'LAG-RECORDS', 'LAG-BYTES', 'LAG-SECONDS', 'LAST-TOKEN', 'STATE'], s.agents.map((a) => [
        a.agentId, String(a.cursor), String(a.lagRecords), String(a.lagBytes), a.lagSeconds.toFixed(3),
        a.lastToken ? `${a.lastToken.epoch}:${a.lastToken.counter}` : '-', a.stopped ? `STOPPED: ${a.stopped}` : 'following',
      ])));
    }));
  replica.addCommand(new Command('verify')
    .description('compare the mirror with the backing store: names, types, sizes, modes, content hashes, symlink targets')
    .requiredOption('--backing <dir>', 'the shared backing store')
    .requiredOption('--mirror <dir>', 'the mirror directory')
    .action(async (opts) => {
      requireDir(opts.backing);
      requireDir(opts.mirror);
      const diffs = await verifyMirror(opts.backing, opts.mirror);
      for (const d of diffs) process.stdout.write(`${d.kind}\t${d.path}${d.backing !== undefined ? `\tbacking=${d.backing}` : ''}${d.mirror !== undefined ? `\tmirror=${d.mirror}` : ''}\n`);
      process.stdout.write(diffs.length === 0 ? 'mirror matches the backing store\n' : `${diffs.length} difference(s)\n`);
      if (diffs.length > 0) process.exitCode = 1;
    }));
  replica.addCommand(new Command('deregister')
    .description('remove a replica\'s registration from every journal of the namespace (agents stop keeping records for it; fsync stops waiting for it)')
    .requiredOption('--namespace <name>', 'name of the shared filesystem')
    .requiredOption('--journals <dir,...>', 'where the agents\' journal directories are')
    .requiredOption('--name <name>', 'the replica\'s name')
    .action(async (opts) => {
      if (!NAME.test(opts.name)) throw new InvalidArgumentError('INVALID_ARGUMENT', `--name must be 1-64 letters, digits, '.', '_' or '-', got "${opts.name}"`);
      const roots = String(opts.journals).split(',').map((s) => s.trim()).filter(Boolean);
      for (const dir of roots) requireDir(dir);
      let removed = 0;
      for (const j of await discoverJournals(roots, opts.namespace)) if (await removeAck(j.dir, opts.name)) removed++;
      process.stdout.write(`replica ${opts.name} deregistered from ${removed} journal(s)\n`);
    }));
  return replica;
}

function requireDir(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InvalidArgumentError('INVALID_ARGUMENT', `not a directory: ${dir}`);
}
