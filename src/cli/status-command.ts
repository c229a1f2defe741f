import { Command } from 'commander';
import { parseEndpoints, parseEtcdUrls, parseSeconds } from './options';
import { tlsFilesOf, withConnectHint, withTlsOptions } from './tls-options';
import { UnavailableError } from '../common/errors';
import { splitHostPort } from '../coordinator/transport-security';
import { formatStatus, gatherStatus, StatusSources } from './cluster-status';
import { SystemClock } from '../common/clock';

function withStatusOptions(c: Command): Command {
  return withTlsOptions(c
    .option('--coordinator <host:port,...>', 'every coordinator (default $COHERD_COORDINATOR or 127.0.0.1:7070)')
    .option('--etcd <urls>', 'etcd client URLs to check (http://HOST:PORT,…)')
    .option('--metrics <host:port,...>', "coordinators' --metrics-listen addresses, for revoke and grant latency"));
}

function sources(cmd: Command): StatusSources {
  const o = cmd.opts();
  const metrics = o.metrics ? String(o.metrics).split(',').map((s) => s.trim()).filter(Boolean) : [];
  for (const m of metrics) splitHostPort(m);
  return { coordinators: parseEndpoints(o.coordinator), tls: tlsFilesOf(cmd), etcd: o.etcd ? parseEtcdUrls(o.etcd) : [], metrics };
}

/** `coherd status`: leader, standbys, etcd health, sessions, recovery window, top contended resources, revoke latency. */
export function statusCommand(): Command {
  return withStatusOptions(new Command('status').description('the cluster at a glance: leader, standbys, etcd, sessions, contention, revoke latency'))
    .option('--json', 'print JSON')
    .action(async (opts, cmd: Command) => {
      const src = sources(cmd);
      const s = await withConnectHint(src.tls, async () => {
        const status = await gatherStatus(src);
        if (status.coordinators.every((c) => c.role === 'UNREACHABLE')) {
          throw new UnavailableError('COORDINATOR_UNAVAILABLE', `coordinator unreachable at ${status.coordinators.map((c) => `${c.endpoint} (${c.error})`).join(', ')}`);
        }
        return status;
      });
      process.stdout.write(opts.json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
      if (!s.leader) process.exitCode = 1;
    });
}

/** `coherd top`: `coherd status`, refreshed in place. */
export function topCommand(): Command {
  return withStatusOptions(new Command('top').description('coherd status, refreshed every few seconds (Ctrl-C to quit)'))
    .option('--interval <seconds>', 'refresh period', '2')
    .option('--iterations <n>', 'stop after this many refreshes (default: until Ctrl-C)')
    .action(async (opts, cmd: Command) => {
      const src = sources(cmd);
      const intervalMs = Math.max(200, parseSeconds(opts.interval, '--interval'));
      const max = opts.iterations === undefined ? Infinity : Number(opts.iterations);
      let stop = false;
      process.once('SIGINT', () => { stop = true; });
      for (let i = 0; i < max && !stop; i++) {
        const text = formatStatus(await gatherStatus(src));
        process.stdout.write((process.stdout.isTTY ? '\x1b[H\x1b[2J' : i ? '\n' : '') + `coherd top — ${new Date().toISOString()}\n\n` + text);
        if (i + 1 < max) await new Promise((r) => new SystemClock().setTimer(intervalMs, () => r(undefined)));
      }
    });
}
