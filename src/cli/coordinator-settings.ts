import * as fs from 'node:fs';
import { Command } from 'commander';
import { InvalidArgumentError } from '../common/errors';
import { CoordinatorOptions } from '../coordinator/coordinator';
import { DEFAULT_QUOTAS } from '../coordinator/quotas';
import { DEFAULT_STREAM_LIMITS } from '../coordinator/stream-watchdog';
import { splitHostPort } from '../coordinator/transport-security';
import { parseEtcdUrls, parseSeconds } from './options';
import { applySources, required, sourceLabel, withEnvironment } from './option-sources';
import { withTlsOptions } from './tls-options';
import { tlsFilesOf } from './tls-options';

export type CoordinatorSettings = Omit<CoordinatorOptions, 'logger'> & { metricsListen?: string };

/** Every coordinator setting: a flag, $COHERD_<FLAG>, or a key of the --config file. */
export function defineCoordinatorOptions(cmd: Command): Command {
  cmd
    .option('--config <file>', 'YAML file of settings (keys are these option names without "--")')
    .option('--etcd <urls>', 'etcd client URLs, comma-separated (http(s)://HOST:PORT); required')
    .option('--listen <host:port>', 'address to serve gRPC on', '127.0.0.1:7070')
    .option('--advertise <host:port>', 'address clients are sent to when this coordinator leads (default the --listen address; set it when listening on 0.0.0.0)')
    .option('--prefix <prefix>', 'etcd key prefix', '/coherd/')
    .option('--session-ttl <seconds>', 'default session lease TTL', '10')
    .option('--leader-ttl <seconds>', 'leadership lease TTL', '5')
    .option('--revoke-deadline <seconds>', 'evict a holder that has not answered a revoke by then', '5')
    .option('--max-waiters-per-resource <n>', 'quota: waiting requests of one session for one resource (WAITER_QUOTA)', String(DEFAULT_QUOTAS.maxWaitersPerResource))
    .option('--max-sessions-per-client <n>', 'quota: live sessions of one client identity, TLS name else client name (SESSION_QUOTA)', String(DEFAULT_QUOTAS.maxSessionsPerClient))
    .option('--max-request-rate <n>', 'quota: acquire/convert requests per second of one session (RATE_LIMITED)', String(DEFAULT_QUOTAS.requestsPerSecond))
    .option('--request-burst <n>', 'quota: requests one session may send at once above --max-request-rate', String(DEFAULT_QUOTAS.requestBurst))
    .option('--direct-mode-alone <seconds>', 'a contended file leaves direct mode after this long with one host; 0 turns direct mode off (needed where a replica follows: docs/replication.md)', '2')
    .option('--stream-idle-timeout <seconds>', 'finish a session stream with no message from its client for this long (at least twice the session TTL)', String(DEFAULT_STREAM_LIMITS.idleMs / 1000));
  withTlsOptions(cmd)
    .option('--admin-names <names>', 'certificate CNs allowed to call admin RPCs, comma-separated', 'admin')
    .option('--admin-token-file <file>', 'without TLS: admin RPCs need the token kept in this file, mode 0600 (default /run/coherd-admin/token, else a per-user temp file; docs/operations.md)')
    .option('--insecure', 'allow plain text on a non-loopback address')
    .option('--etcd-user <user>', 'etcd user name (password from $COHERD_ETCD_PASSWORD or --etcd-password-file)')
    .option('--etcd-password-file <file>', 'file holding the etcd password')
    .option('--etcd-ca <file>', 'PEM CA of etcd (etcd over TLS)')
    .option('--etcd-cert <file>', 'PEM client certificate for etcd')
    .option('--etcd-key <file>', 'PEM client key for etcd')
    .option('--metrics-listen <host:port>', 'serve /metrics, /healthz and /readyz over HTTP there')
    .option('--id <id>', 'coordinator id (default random)');
  return withEnvironment(cmd);
}

/** Applies $COHERD_* and --config, then validates everything; errors name the flag, variable or key that was wrong. */
export function coordinatorSettings(cmd: Command, o2: { checkFiles?: boolean } = {}): CoordinatorSettings {
  const checkFiles = o2.checkFiles ?? true;
  applySources(cmd);
  const o = cmd.opts();
  const label = (attr: string) => sourceLabel(cmd, attr);
  const etcdEndpoints = withLabel(label('etcd'), () => parseEtcdUrls(required(cmd, 'etcd')));
  withLabel(label('listen'), () => splitHostPort(String(o.listen)));
  if (o.advertise) withLabel(label('advertise'), () => splitHostPort(String(o.advertise)));
  if (o.metricsListen) withLabel(label('metricsListen'), () => splitHostPort(String(o.metricsListen)));
  const adminNames = String(o.adminNames).split(',').map((s) => s.trim()).filter(Boolean);
  if (adminNames.length === 0) throw new InvalidArgumentError('INVALID_ARGUMENT', `${label('adminNames')} needs at least one name`);
  const password = o.etcdPasswordFile ? (checkFiles ? readSecret(o.etcdPasswordFile, label('etcdPasswordFile')) : '(not read)') : process.env.COHERD_ETCD_PASSWORD;
  if (o.etcdUser && !password) throw new InvalidArgumentError('INVALID_ARGUMENT', `${label('etcdUser')} needs a password: set $COHERD_ETCD_PASSWORD or --etcd-password-file`);
  if (checkFiles) for (const attr of ['etcdCa', 'etcdCert', 'etcdKey']) if (o[attr]) readable(o[attr], label(attr));
  if (o.prefix !== undefined && !/^\/[\x21-\x7e]*\/$/.test(String(o.prefix))) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${label('prefix')} must start and end with "/", got "${o.prefix}"`);
  }
  return {
    etcdEndpoints,
    etcdUsername: o.etcdUser,
    etcdPassword: password,
    etcdCaFile: o.etcdCa,
    etcdCertFile: o.etcdCert,
    etcdKeyFile: o.etcdKey,
    listen: String(o.listen),
    prefix: String(o.prefix),
    sessionTtlMs: parseSeconds(String(o.sessionTtl), label('sessionTtl')),
    leaderTtlMs: parseSeconds(String(o.leaderTtl), label('leaderTtl')),
    revokeDeadlineMs: parseSeconds(String(o.revokeDeadline), label('revokeDeadline')),
    tls: tlsFilesOf(cmd),
    allowInsecure: Boolean(o.insecure),
    adminNames,
    adminTokenFile: o.adminTokenFile,
    coordinatorId: o.id,
    metricsListen: o.metricsListen,
    advertise: o.advertise,
    quotas: {
      maxWaitersPerResource: positiveInteger(o.maxWaitersPerResource, label('maxWaitersPerResource')),
      maxSessionsPerClient: positiveInteger(o.maxSessionsPerClient, label('maxSessionsPerClient')),
      requestsPerSecond: positiveInteger(o.maxRequestRate, label('maxRequestRate')),
      requestBurst: positiveInteger(o.requestBurst, label('requestBurst')),
    },
    directAloneMs: parseSeconds(String(o.directModeAlone), label('directModeAlone')),
    streamLimits: { idleMs: parseSeconds(String(o.streamIdleTimeout), label('streamIdleTimeout')) },
  };
}

function positiveInteger(value: unknown, flag: string): number {
  const text = String(value);
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${flag} must be a positive integer, got "${text}"`);
  }
  return n;
}

/** Runs a parser whose message names a flag, and says where the value came from instead. */
export function withLabel<T>(label: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new InvalidArgumentError('INVALID_ARGUMENT', `${label}: ${e.message}`, e.details);
    throw e;
  }
}

export function readable(file: string, label: string): void {
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch (e) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${label}: cannot read ${file} (${(e as NodeJS.ErrnoException).code})`);
  }
}

function readSecret(file: string, label: string): string {
  readable(file, label);
  return fs.readFileSync(file, 'utf8').trim();
}
