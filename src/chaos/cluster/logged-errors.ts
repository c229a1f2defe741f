import { promises as fsp } from 'node:fs';
import { LoggedError } from '../history/operation';

/** Counts the error-level JSON lines of each agent's log, by message and error, keeping the first time each appeared. */
export async function loggedErrors(logs: Array<{ host: string; file: string }>): Promise<LoggedError[]> {
  const out = new Map<string, LoggedError>();
  for (const { host, file } of logs) {
    const text = await fsp.readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.includes('"level":"error"')) continue;
      let r: { message?: unknown; error?: unknown; timestamp?: unknown };
      try {
        r = JSON.parse(line) as typeof r;
      } catch {
        continue;
      }
      const message = String(r.message ?? '');
      const error = r.error === undefined ? undefined : String(r.error);
      const key = `${host}\u0000${message}\u0000${error ?? ''}`;
      const e = out.get(key);
      if (e) e.count++;
      else out.set(key, { host, message, error, count: 1, firstAt: String(r.timestamp ?? '') });
    }
  }
  return [...out.values()];
}
