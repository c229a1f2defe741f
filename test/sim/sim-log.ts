import { Writable } from 'node:stream';
import { createLogger, Logger } from '../../src/common/logger';

/**
 * A logger for the simulation that keeps warnings and errors. Some error
 * records are themselves protocol violations (a broken invariant the code
 * noticed); the run fails on them.
 */
export class SimLog {
  readonly records: Array<{ level: string; message: string; meta: Record<string, unknown> }> = [];
  readonly logger: Logger;

  constructor() {
    const stream = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString().split('\n')) {
          if (!line) continue;
          const r = JSON.parse(line) as Record<string, unknown>;
          const { level, message, ...meta } = r;
          this.records.push({ level: String(level), message: String(message), meta });
        }
        done();
      },
    });
    this.logger = createLogger({ json: true, level: 'warn', stream });
  }

  /** Error records that mean the protocol broke (not faults the code survived). */
  violations(): string[] {
    const broken = new Set([
      'dirty pages dropped on revoke without a flush error',
      'reclaim refused; the grant is lost',
      'token lost without a revoke; dropping what it covered',
      'request failed unexpectedly',
      'session stream handler failed',
      'client failed to handle a server message',
      'revoke handler failed; releasing the token',
    ]);
    return this.records.filter((r) => r.level === 'error' && broken.has(r.message)).map((r) => `${r.message} ${JSON.stringify(r.meta)}`);
  }

  count(message: string): number {
    return this.records.filter((r) => r.message === message).length;
  }
}
