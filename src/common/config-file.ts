import * as fs from 'node:fs';
import type * as Yaml from 'yaml';
import { InvalidArgumentError } from './errors';

export type ConfigValue = string | number | boolean | Array<string | number>;

/**
 * Reads a YAML configuration file: a flat mapping of option names (as on
 * the command line, without "--") to scalars or lists of scalars. Errors
 * name the file, and the line or the key.
 */
export function readConfigFile(file: string): Record<string, ConfigValue> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file });
  }
  // Loaded here, not at the top: every CLI command would pay for it, and only --config needs it.
  const { parseDocument } = require('yaml') as typeof Yaml; // eslint-disable-line @typescript-eslint/no-require-imports
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const first = doc.errors[0];
    const line = first.linePos?.[0]?.line;
    throw new InvalidArgumentError('INVALID_ARGUMENT', `config file ${file}${line ? ` line ${line}` : ''}: ${first.message.split('\n')[0]}`, { file });
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `config file ${file} must be a mapping of option names to values`, { file });
  }
  const out: Record<string, ConfigValue> = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    out[key] = configValue(file, key, value);
  }
  return out;
}

function configValue(file: string, key: string, value: unknown): ConfigValue {
  const scalar = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
  if (scalar(value) || typeof value === 'boolean') return value as ConfigValue;
  if (Array.isArray(value) && value.every(scalar)) return value as Array<string | number>;
  throw new InvalidArgumentError('INVALID_ARGUMENT', `key "${key}" in ${file} must be a string, number, boolean or list of them, got ${describe(value)}`, { file, key });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list of non-scalars';
  return typeof v === 'object' ? 'a mapping' : typeof v;
}
