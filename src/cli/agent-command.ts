import { Command } from 'commander';
import { createLogger } from '../common/logger';
import { InvalidArgumentError } from '../common/errors';
import { startAgent } from '../agent/agent';
import { parseEndpoints, parseSeconds } from './options';

const NAMESPACE = /^[A-Za-z0-9_.-]{1,64}$/;

export function agentCommand(): Command {
  return new Command('agent')
    .description('mount a shared backing directory through FUSE, coherent with every other agent of the namespace')
    .requiredOption('--coordinator <host:port,...>', 'coordinator endpoints')
    .requiredOption('--backing <dir>', 'the shared backing directory (NFS export, cluster filesystem)')
    .requiredOption('--mount <dir>', 'where to mount it on this host')
    .requiredOption('--namespace <name>', 'name of the shared filesystem (same on every host)')
    .option('--ttl <seconds>', 'session lease TTL', '10')
    .option('--state-dir <dir>', 'journal and lock socket directory', '/run/coherd')
    .option('--journal-dir <dir>', 'this agent\'s journal directory, read by replicas (default <state-dir>/journal-<namespace>)')
    .option('--journal-segment-mib <n>', 'journal segment size in MiB', '64')
    .option('--socket <path>', 'local lock API socket (default <state-dir>/agent.sock)')
    .option('--tls-cert <file>', 'PEM certificate (mutual TLS)')
    .option('--tls-key <file>', 'PEM private key')
    .option('--tls-ca <file>', 'PEM cluster CA')
    .action(async (opts) => {
      if (!NAMESPACE.test(opts.namespace)) {
        throw new InvalidArgumentError('INVALID_ARGUMENT', `--namespace must be 1-64 letters, digits, '.', '_' or '-', got "${opts.namespace}"`);
      }
      const logger = createLogger();
      const agent = await startAgent({
        coordinators: parseEndpoints(opts.coordinator),
        backingDir: opts.backing,
        mountPoint: opts.mount,
        namespace: opts.namespace,
        logger,
        ttlMs: parseSeconds(opts.ttl, '--ttl'),
        stateDir: opts.stateDir,
        journalDir: opts.journalDir,
        journalSegmentBytes: parseSegmentMiB(opts.journalSegmentMib),
        socketPath: opts.socket,
        tls: opts.tlsCert ? { certFile: opts.tlsCert, keyFile: opts.tlsKey, caFile: opts.tlsCa } : undefined,
      });
      process.stdout.write(`coherd agent mounted ${opts.namespace} at ${agent.mountPoint} (lock socket ${agent.socketPath})\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await agent.stop();
    });
}

function parseSegmentMiB(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 4096) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `--journal-segment-mib must be a number in (0, 4096], got "${value}"`);
  }
  return Math.max(4096, Math.round(n * 1024 * 1024));
}
