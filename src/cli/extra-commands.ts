import { Command } from 'commander';
import { agentCommand } from './agent-command';
import { replicaCommand } from './replica-command';
import { upCommand } from './up-command';
import { configCommand } from './config-command';

/** Subcommands that live with their components (agent, up, bench). */
export function extraCommands(): Command[] {
  return [agentCommand(), upCommand(), configCommand(), replicaCommand()];
}
