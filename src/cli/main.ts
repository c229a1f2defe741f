#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isCoherdError } from '../common/errors';
import { tuneJit } from '../common/jit-tuning';
import { coordinatorCommand } from './coordinator-command';
import { lockCommand } from './lock-command';
import { evictCommand, locksCommand, sessionsCommand } from './admin-commands';
import { statusCommand, topCommand } from './status-command';
import { extraCommands } from './extra-commands';
import { chaosCommand } from './chaos-command';

/** Exit status for bad usage, like most CLIs. */
const USAGE_ERROR = 2;

async function main(argv: string[]): Promise<void> {
  tuneJit(); // before any daemon serves a request (src/common/jit-tuning.ts)
  const program = new Command('coherd')
    .description('cluster cache-coherency coordinator: tokens, range locks and leases for hosts sharing a filesystem')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const c of [coordinatorCommand(), lockCommand(), locksCommand(), sessionsCommand(), evictCommand(), statusCommand(), topCommand(), ...extraCommands(), chaosCommand()]) {
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

// grpc-js passes an IP address as TLS server name (Node's DEP0123): not the user's concern, keep stderr clean.
const emitWarning = process.emitWarning.bind(process) as (...a: unknown[]) => void;
process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
  if (rest.includes('DEP0123') || (rest[0] as { code?: string } | undefined)?.code === 'DEP0123') return;
  emitWarning(warning, ...rest);
}) as typeof process.emitWarning;

// Exit explicitly: open gRPC channels or etcd watchers must not keep a finished command alive.
void main(process.argv).then(() => process.exit(process.exitCode ?? 0));
