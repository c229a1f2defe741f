import { Command } from 'commander';

export function chaosRunCommand(): Command {
  return new Command('run');
}
