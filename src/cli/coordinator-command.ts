import { Command } from 'commander';
import { createLogger } from '../common/logger';
import { startCoordinator } from '../coordinator/coordinator';
import { coordinatorSettings, defineCoordinatorOptions } from './coordinator-settings';
import { serveOps } from '../common/metrics/ops-server';

export function coordinatorCommand(): Command {
  return defineCoordinatorOptions(new Command('coordinator').description('run a coordinator (leader or standby) backed by etcd'))
    .action(async (_opts, cmd: Command) => {
      const { metricsListen, ...settings } = coordinatorSettings(cmd);
      const logger = createLogger();
      const coordinator = await startCoordinator({ ...settings, logger, metrics: Boolean(metricsListen) });
      const ops = metricsListen ? await serveOps(metricsListen, coordinator.ops!, logger) : undefined;
      process.stdout.write(`coherd coordinator listening on ${coordinator.address}${ops ? ` (metrics on ${ops.address})` : ''}\n`);
      const onHup = () => {
        try {
          coordinator.reloadCertificates();
        } catch (e) {
          logger.error('TLS reload failed; keeping the previous certificates', { error: (e as Error).message });
        }
      };
      process.on('SIGHUP', onHup);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      process.off('SIGHUP', onHup);
      await ops?.close();
      await coordinator.stop();
    });
}
