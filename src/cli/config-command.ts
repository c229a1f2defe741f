import { Command, Option } from 'commander';
import { InvalidArgumentError } from '../common/errors';
import { readConfigFile } from '../common/config-file';
import { loadCertificates } from '../common/reloadable-certificates';
import { coordinatorSettings, defineCoordinatorOptions } from './coordinator-settings';
import { agentSettings, defineAgentOptions } from './agent-settings';
import { parseChoice } from './options';
import { formatTable } from './table-format';

type Kind = 'coordinator' | 'agent';
const SECRET = /password|secret/i;

/** `coherd config check FILE`: validates a coordinator or agent config file the way start-up would, without starting anything. */
export function configCommand(): Command {
  const config = new Command('config').description('work with configuration files');
  config.addCommand(new Command('check')
    .description('validate a coordinator or agent config file (with the COHERD_* environment applied, as at start-up)')
    .argument('<file>', 'YAML config file')
    .option('--for <component>', 'coordinator or agent (default: guessed from the keys)')
    .option('--no-files', 'do not open the certificate and password files it names (a config for another machine)')
    .action((file: string, opts: { for?: string; files: boolean }) => {
      const kind = opts.for ? parseChoice(opts.for, '--for', ['coordinator', 'agent'] as const) : guessKind(file);
      const cmd = kind === 'coordinator' ? defineCoordinatorOptions(new Command('coordinator')) : defineAgentOptions(new Command('agent'));
      cmd.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined }).action(() => undefined);
      cmd.parse(['--config', file], { from: 'user' });
      const settings = kind === 'coordinator' ? coordinatorSettings(cmd, { checkFiles: opts.files }) : agentSettings(cmd);
      if (settings.tls && opts.files) {
        const c = loadCertificates(settings.tls);
        if (c.notAfterMs < Date.now()) throw new InvalidArgumentError('INVALID_ARGUMENT', `TLS certificate ${settings.tls.certFile} expired on ${new Date(c.notAfterMs).toISOString()}`);
      }
      const rows = (cmd.options as Option[])
        .filter((o) => o.long && o.long !== '--config')
        .map((o) => {
          const attr = o.attributeName();
          const v = cmd.getOptionValue(attr);
          return [o.long!.slice(2), v === undefined ? '-' : SECRET.test(attr) ? '[redacted]' : String(v), cmd.getOptionValueSource(attr) ?? '-'];
        });
      process.stdout.write(`${file}: valid ${kind} configuration\n\n${formatTable(['KEY', 'VALUE', 'FROM'], rows)}`);
    }));
  return config;
}

function guessKind(file: string): Kind {
  const keys = Object.keys(readConfigFile(file));
  if (keys.includes('etcd')) return 'coordinator';
  if (['mount', 'backing', 'namespace', 'coordinator'].some((k) => keys.includes(k))) return 'agent';
  throw new InvalidArgumentError('INVALID_ARGUMENT', `cannot tell whether ${file} is for a coordinator or an agent (no "etcd" nor "mount" key); give --for coordinator|agent`);
}
