import { Command } from 'commander';
import { createLogger } from '../common/logger';
import { startAgent } from '../agent/agent';
import { agentSettings, defineAgentOptions } from './agent-settings';
import { serveOps } from '../common/metrics/ops-server';

export function agentCommand(): Command {
  return defineAgentOptions(new Command('agent').description('mount a shared backing directory through FUSE, coherent with every other agent of the namespace'))
    .action(async (_opts, cmd: Command) => {
      const { metricsListen, ...settings } = agentSettings(cmd);
      const logger = createLogger();
      const agent = await startAgent({ ...settings, logger, metrics: Boolean(metricsListen) });
      const ops = metricsListen && agent.ops ? await serveOps(metricsListen, agent.ops, logger) : undefined;
      process.stdout.write(`coherd agent mounted ${settings.namespace} at ${agent.mountPoint} (lock socket ${agent.socketPath})${ops ? ` metrics on ${ops.address}` : ''}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await ops?.close();
      await agent.stop();
    });
}

