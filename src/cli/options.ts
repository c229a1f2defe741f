import { InvalidArgumentError } from '../common/errors';
import { splitHostPort } from '../coordinator/transport-security';

export const DEFAULT_COORDINATOR = '127.0.0.1:7070';

/** "HOST:PORT[,HOST:PORT…]" → validated list. */
export function parseEndpoints(text: string | undefined, fallback = process.env.COHERD_COORDINATOR ?? DEFAULT_COORDINATOR): string[] {
  const list = (text ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError('INVALID_ARGUMENT', 'at least one coordinator address is required');
  for (const e of list) splitHostPort(e);
  return list;
}

/** etcd URLs: "http://HOST:PORT[,…]". */
export function parseEtcdUrls(text: string): string[] {
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError('INVALID_ARGUMENT', '--etcd needs at least one URL');
  for (const u of list) {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new InvalidArgumentError('INVALID_ARGUMENT', `malformed etcd URL "${u}" (expected http://HOST:PORT)`);
    }
    if (!/^https?:$/.test(url.protocol) || !url.port) throw new InvalidArgumentError('INVALID_ARGUMENT', `etcd URL "${u}" needs http(s):// and a port`);
  }
  return list;
}

/** Seconds (may be fractional) → ms; rejects negatives and garbage. */
export function parseSeconds(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !Number.isFinite(n)) {
    throw new InvalidArgumentError('INVALID_ARGUMENT', `${flag} must be a non-negative number of seconds, got "${text}"`);
  }
  return Math.round(n * 1000);
}

export function parseChoice<T extends string>(text: string, flag: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new InvalidArgumentError('INVALID_MODE', `${flag} must be one of ${choices.join(', ')}, got "${text}"`);
  }
  return text as T;
}
