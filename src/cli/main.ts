#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isCoherdError } from '../common/errors';
import { coordinatorCommand } from './coordinator-command';
import { lockCommand } from './lock-command';
import { evictCommand, locksCommand, sessionsCommand, statusCommand } from './admin-commands';
import { extraCommands } from './extra-commands';
import { chaosCommand } from './chaos-command';

/** Exit status for bad usage, like most CLIs. */
const USAGE_ERROR = 2;

async function main(argv: string[]): Promise<void> {
  const program = new Command('coherd')
    .description('cluster cache-coherency coordinator: tokens, range locks and leases for hosts sharing a filesystem')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const c of [coordinatorCommand(), lockCommand(), locksCommand(), sessionsCommand(), evictCommand(), statusCommand(), ...extraCommands(), chaosCommand()]) {
    program.addCommand(c.exitOverride());
  }
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : USAGE_ERROR;
      return;
    }
    const message = isCoherdError(e) ? e.message : (e as Error)?.message ?? String(e);
    process.stderr.write(`coherd: ${message}\n`);
    process.exitCode = isCoherdError(e) && (e.reason === 'INVALID_ARGUMENT' || e.reason === 'INVALID_RANGE' || e.reason === 'INVALID_MODE') ? USAGE_ERROR : 1;
  }
}

// Exit explicitly: open gRPC channels or etcd watchers must not keep a finished command alive.
void main(process.argv).then(() => process.exit(process.exitCode ?? 0));
