import { Command } from 'commander';
import { createLogger } from '../common/logger';
import { startCoordinator } from '../coordinator/coordinator';
import { parseEtcdUrls, parseSeconds } from './options';

export function coordinatorCommand(): Command {
  return new Command('coordinator')
    .description('run a coordinator (leader or standby) backed by etcd')
    .requiredOption('--etcd <urls>', 'etcd client URLs, comma-separated (http://HOST:PORT)')
    .option('--listen <host:port>', 'address to serve gRPC on', '127.0.0.1:7070')
    .option('--prefix <prefix>', 'etcd key prefix', '/coherd/')
    .option('--session-ttl <seconds>', 'default session lease TTL', '10')
    .option('--leader-ttl <seconds>', 'leadership lease TTL', '5')
    .option('--revoke-deadline <seconds>', 'evict a holder that has not answered a revoke by then', '5')
    .option('--tls-cert <file>', 'PEM certificate (mutual TLS)')
    .option('--tls-key <file>', 'PEM private key')
    .option('--tls-ca <file>', 'PEM cluster CA')
    .option('--admin-names <names>', 'certificate CNs allowed to call admin RPCs', 'admin')
    .option('--insecure', 'allow plain text on a non-loopback address')
    .option('--etcd-user <user>', 'etcd user name (password from COHERD_ETCD_PASSWORD)')
    .option('--id <id>', 'coordinator id (default random)')
    .action(async (opts) => {
      const logger = createLogger();
      const tls = opts.tlsCert ? { certFile: opts.tlsCert, keyFile: opts.tlsKey, caFile: opts.tlsCa } : undefined;
      const coordinator = await startCoordinator({
        etcdEndpoints: parseEtcdUrls(opts.etcd),
        etcdUsername: opts.etcdUser,
        etcdPassword: process.env.COHERD_ETCD_PASSWORD,
        listen: opts.listen,
        logger,
        prefix: opts.prefix,
        sessionTtlMs: parseSeconds(opts.sessionTtl, '--session-ttl'),
        leaderTtlMs: parseSeconds(opts.leaderTtl, '--leader-ttl'),
        revokeDeadlineMs: parseSeconds(opts.revokeDeadline, '--revoke-deadline'),
        tls,
        allowInsecure: Boolean(opts.insecure),
        adminNames: String(opts.adminNames).split(','),
        coordinatorId: opts.id,
      });
      process.stdout.write(`coherd coordinator listening on ${coordinator.address}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await coordinator.stop();
    });
}
