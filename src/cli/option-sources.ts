import { Command, Option } from 'commander';
import { InvalidArgumentError } from '../common/errors';
import { readConfigFile } from '../common/config-file';

/** "session-ttl" → "COHERD_SESSION_TTL". */
export function envName(long: string): string {
  return 'COHERD_' + long.replace(/^--/, '').replace(/-/g, '_').toUpperCase();
}

/**
 * Every long option also reads COHERD_<NAME> from the environment (named
 * in --help here, applied by applySources). Precedence: flag > environment
 * > config file > default.
 */
export function withEnvironment(cmd: Command): Command {
  for (const o of cmd.options as Option[]) {
    if (o.long && !o.envVar && o.long !== '--help') o.env(envName(o.long));
  }
  return cmd;
}

/** Fills what no flag set from COHERD_* variables, then from the --config file. */
export function applySources(cmd: Command): void {
  applyEnvironment(cmd);
  applyConfigFile(cmd);
}

function applyEnvironment(cmd: Command): void {
  for (const o of cmd.options as Option[]) {
    const value = o.envVar ? process.env[o.envVar] : undefined;
    const attr = o.attributeName();
    const source = cmd.getOptionValueSource(attr);
    if (value === undefined || (source !== undefined && source !== 'default')) continue;
    if (!o.isBoolean()) {
      cmd.setOptionValueWithSource(attr, value, 'env');
      continue;
    }
    const flag = /^(1|true|yes|on)$/i.test(value) ? true : /^(0|false|no|off|)$/i.test(value) ? false : undefined;
    if (flag === undefined) throw new InvalidArgumentError('INVALID_ARGUMENT', `$${o.envVar} must be true or false, got "${value}"`);
    cmd.setOptionValueWithSource(attr, flag, 'env');
  }
}

/** Where a setting came from, as the user would name it in an error. */
export function sourceLabel(cmd: Command, attribute: string): string {
  const o = optionOf(cmd, attribute);
  const long = o?.long ?? `--${attribute}`;
  switch (cmd.getOptionValueSource(attribute)) {
    case 'env': return `$${o?.envVar ?? envName(long)}`;
    case 'config': return `"${long.slice(2)}" in ${cmd.getOptionValue('config')}`;
    default: return long;
  }
}

/** A required setting: its value, or an error naming the flag, variable and key that would give it. */
export function required(cmd: Command, attribute: string): string {
  const v = cmd.getOptionValue(attribute);
  if (v === undefined || v === '') {
    const o = optionOf(cmd, attribute);
    const long = o?.long ?? `--${attribute}`;
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${long} is required (or $${o?.envVar ?? envName(long)}, or "${long.slice(2)}" in the config file)`, { key: long.slice(2) });
  }
  return String(v);
}

/**
 * Applies the file of --config: each key is an option's long name (or its
 * camelCase form); values fill what neither a flag nor the environment set.
 * Unknown keys and wrongly typed values are errors that name the key.
 */
function applyConfigFile(cmd: Command): void {
  const file = cmd.getOptionValue('config') as string | undefined;
  if (!file) return;
  const config = readConfigFile(file);
  const options = (cmd.options as Option[]).filter((o) => o.long && o.long !== '--config' && o.long !== '--help');
  for (const [key, value] of Object.entries(config)) {
    const o = options.find((x) => x.long === `--${key}` || x.attributeName() === key);
    if (!o) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', `unknown key "${key}" in ${file} (known keys: ${options.map((x) => x.long!.slice(2)).join(', ')})`, { file, key });
    }
    const attr = o.attributeName();
    let v: string | boolean;
    if (o.isBoolean()) {
      if (typeof value !== 'boolean') throw new InvalidArgumentError('INVALID_ARGUMENT', `key "${key}" in ${file} must be true or false`, { file, key });
      v = value;
    } else {
      if (typeof value === 'boolean') throw new InvalidArgumentError('INVALID_ARGUMENT', `key "${key}" in ${file} needs a value, not ${value}`, { file, key });
      v = Array.isArray(value) ? value.join(',') : String(value);
    }
    const source = cmd.getOptionValueSource(attr);
    if (source === undefined || source === 'default') cmd.setOptionValueWithSource(attr, v, 'config');
  }
}

function optionOf(cmd: Command, attribute: string): Option | undefined {
  return (cmd.options as Option[]).find((o) => o.attributeName() === attribute);
}
