import { Command } from 'commander';
import { createLogger } from '../common/logger';
import { startAgent } from '../agent/agent';
import { agentSettings, defineAgentOptions } from './agent-settings';
import { serveOps } from '../common/metrics/ops-server';
import { SystemClock } from '../common/clock';
import { reportLeaseDeadline } from './lease-deadline-reporter';

export function agentCommand(): Command {
  return defineAgentOptions(new Command('agent').description('mount a shared backing directory through FUSE, coherent with every other agent of the namespace'))
    .action(async (_opts, cmd: Command) => {
      const { metricsListen, ...settings } = agentSettings(cmd);
      const logger = createLogger();
      const clock = new SystemClock();
      const agent = await startAgent({ ...settings, logger, clock, metrics: Boolean(metricsListen) });
      const stopReporting = process.env.COHERD_LOG_LEASE_DEADLINE === '1' ? reportLeaseDeadline(agent.client, clock, logger) : undefined;
      const ops = metricsListen && agent.ops ? await serveOps(metricsListen, agent.ops, logger) : undefined;
      process.stdout.write(`coherd agent mounted ${settings.namespace} at ${agent.mountPoint} (lock socket ${agent.socketPath})${ops ? ` metrics on ${ops.address}` : ''}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      stopReporting?.();
      await ops?.close();
      await agent.stop();
    });
}

