import { Command } from 'commander';
import { InvalidArgumentError } from '../common/errors';
import { AgentOptions } from '../agent/agent';
import { splitHostPort } from '../coordinator/transport-security';
import { parseEndpoints, parseSeconds } from './options';
import { applySources, required, sourceLabel, withEnvironment } from './option-sources';
import { tlsFilesOf, withTlsOptions } from './tls-options';
import { withLabel } from './coordinator-settings';

const NAMESPACE = /^[A-Za-z0-9_.-]{1,64}$/;

export type AgentSettings = Omit<AgentOptions, 'logger'> & { metricsListen?: string };

/** Every agent setting: a flag, $COHERD_<FLAG>, or a key of the --config file. */
export function defineAgentOptions(cmd: Command): Command {
  cmd
    .option('--config <file>', 'YAML file of settings (keys are these option names without "--")')
    .option('--coordinator <host:port,...>', 'coordinator endpoints; required')
    .option('--backing <dir>', 'the shared backing directory (NFS export, cluster filesystem); required')
    .option('--mount <dir>', 'where to mount it on this host; required')
    .option('--namespace <name>', 'name of the shared filesystem (same on every host); required')
    .option('--ttl <seconds>', 'session lease TTL', '10')
    .option('--state-dir <dir>', 'journal and lock socket directory', '/run/coherd')
    .option('--journal-dir <dir>', 'this agent\'s journal directory, read by replicas (default <state-dir>/journal-<namespace>)')
    .option('--journal-advertise <path>', 'the journal directory as replica hosts see it, advertised to them through the coordinator (default the journal dir; "" for none)')
    .option('--journal-segment-mib <n>', 'journal segment size in MiB', '64')
    .option('--socket <path>', 'local lock API socket (default <state-dir>/agent.sock)')
    .option('--allow-other <when>', 'let other users use the mount (FUSE allow_other; the kernel checks their permissions): yes, no, or auto (when the agent runs as root)', 'auto')
    .option('--kernel-page-cache <yes|no>', 'answer read-only opens through the kernel page cache, kept coherent by the tokens (docs/fuse.md, "The page cache"); no: every open is direct_io', 'yes')
    .option('--writable-mappings <yes|no>', 'with the page cache, answer read-write opens through it too, so they can be mapped MAP_SHARED with PROT_WRITE (SQLite WAL); costs hosts that write disjoint ranges of one file through O_RDWR opens their parallelism (docs/fuse.md, "Writable shared mappings"); no: such a mapping gets ENODEV', 'no')
    .option('--copy-file-range <yes|no>', 'serve copy_file_range (cp, os.copy_file_range) by copying in the backing store under tokens; no: the kernel copies through READ and WRITE (docs/fuse.md, "copy_file_range")', 'yes');
  withTlsOptions(cmd).option('--metrics-listen <host:port>', 'serve /metrics, /healthz and /readyz over HTTP there');
  return withEnvironment(cmd);
}

/** Applies $COHERD_* and --config, then validates everything; errors name the flag, variable or key that was wrong. */
export function agentSettings(cmd: Command): AgentSettings {
  applySources(cmd);
  const o = cmd.opts();
  const label = (attr: string) => sourceLabel(cmd, attr);
  const coordinators = withLabel(label('coordinator'), () => parseEndpoints(required(cmd, 'coordinator')));
  const backingDir = required(cmd, 'backing');
  const mountPoint = required(cmd, 'mount');
  const namespace = required(cmd, 'namespace');
  if (!NAMESPACE.test(namespace)) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${label('namespace')} must be 1-64 letters, digits, '.', '_' or '-', got "${namespace}"`);
  }
  if (o.journalAdvertise && !String(o.journalAdvertise).startsWith('/')) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${label('journalAdvertise')} must be an absolute path, got "${o.journalAdvertise}"`);
  }
  const allowOther = parseAllowOther(String(o.allowOther), label('allowOther'));
  const kernelPageCache = parseYesNo(String(o.kernelPageCache), label('kernelPageCache'));
  const writableMappings = parseYesNo(String(o.writableMappings), label('writableMappings'));
  const copyFileRange = parseYesNo(String(o.copyFileRange), label('copyFileRange'));
  if (o.metricsListen) withLabel(label('metricsListen'), () => splitHostPort(String(o.metricsListen)));
  return {
    coordinators, backingDir, mountPoint, namespace,
    ttlMs: parseSeconds(String(o.ttl), label('ttl')),
    stateDir: o.stateDir,
    journalDir: o.journalDir,
    journalAdvertise: o.journalAdvertise,
    journalSegmentBytes: parseSegmentMiB(String(o.journalSegmentMib), label('journalSegmentMib')),
    socketPath: o.socket,
    tls: tlsFilesOf(cmd),
    metricsListen: o.metricsListen,
    ...(allowOther !== undefined ? { allowOther } : {}),
    kernelPageCache,
    writableMappings,
    copyFileRange,
  };
}

function parseYesNo(value: string, label: string): boolean {
  if (/^(yes|true|on|1)$/i.test(value)) return true;
  if (/^(no|false|off|0)$/i.test(value)) return false;
  throw new InvalidArgumentError('INVALID_ARGUMENT', `${label} must be yes or no, got "${value}"`);
}

/** yes/no/auto (also true/false, on/off, 1/0); auto is undefined: the mount decides (root). */
function parseAllowOther(value: string, label: string): boolean | undefined {
  if (/^auto$/i.test(value)) return undefined;
  if (/^(yes|true|on|1)$/i.test(value)) return true;
  if (/^(no|false|off|0)$/i.test(value)) return false;
  throw new InvalidArgumentError('INVALID_ARGUMENT', `${label} must be yes, no or auto, got "${value}"`);
}

function parseSegmentMiB(value: string, label: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 4096) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${label} must be a number in (0, 4096], got "${value}"`);
  }
  return Math.max(4096, Math.round(n * 1024 * 1024));
}
